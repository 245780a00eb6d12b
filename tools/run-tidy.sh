#!/usr/bin/env bash
# Runs clang-tidy (with the repository's .clang-tidy) over our *.cc files, using the
# compile commands of an already configured and built tree; any finding fails the run.
#
#   tools/run-tidy.sh [BUILD_DIR]     BUILD_DIR defaults to build/
#
# The tree must be built, not only configured: sources include generated *.pb.h files.
set -euo pipefail

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"

readonly BUILD_DIR="${1:-build}"
readonly CLANG_TIDY="${CLANG_TIDY:-clang-tidy}"
if [[ ! -f "${BUILD_DIR}/compile_commands.json" ]]; then
  echo "run-tidy: ${BUILD_DIR}/compile_commands.json is missing; run 'make build' first" >&2
  exit 1
fi

# Only files the build compiles have compile commands; a stray .cc is skipped, not guessed.
mapfile -t files < <(tools/list-sources.sh cc | while read -r file; do
  if grep -qF "\"file\": \"${PWD}/${file}\"" "${BUILD_DIR}/compile_commands.json"; then
    echo "${file}"
  fi
done)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "run-tidy: no compiled sources yet"
  exit 0
fi

echo "run-tidy: checking ${#files[@]} files with $(nproc) jobs"
# Each file's report is printed in one piece (parallel runs would interleave lines), minus
# clang-tidy's "N warnings generated." count of the suppressed system-header warnings.
# shellcheck disable=SC2016  # $1.. are expanded by the inner bash, per file.
tidy_one='
  report="$("$1" -p "$2" --quiet --warnings-as-errors="*" "$3" 2>&1)"
  status=$?
  grep -v -E "^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$" <<<"${report}" || true
  exit "${status}"'
if ! printf '%s\0' "${files[@]}" |
  xargs -0 -n 1 -P "$(nproc)" bash -c "${tidy_one}" tidy-one "${CLANG_TIDY}" "${BUILD_DIR}"; then
  echo "run-tidy: findings above; fix them, or for a justified exception add" \
    "'// NOLINT(<check>): <why>' on that line" >&2
  exit 1
fi
echo "run-tidy: clean"
