#!/usr/bin/env bash
# Fails if any of our *.h, *.cc or *.proto files differs from what clang-format (with the
# repository's .clang-format) would write. `make format` rewrites them in place.
set -euo pipefail

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"

readonly CLANG_FORMAT="${CLANG_FORMAT:-clang-format}"
mapfile -t files < <(tools/list-sources.sh)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "check-format: no sources yet"
  exit 0
fi

offending=()
for file in "${files[@]}"; do
  if ! "${CLANG_FORMAT}" --dry-run -Werror "${file}" >/dev/null 2>&1; then
    offending+=("${file}")
  fi
done

if [[ ${#offending[@]} -gt 0 ]]; then
  echo "check-format: ${#offending[@]} of ${#files[@]} files are not clang-formatted:" >&2
  printf '  %s\n' "${offending[@]}" >&2
  echo "check-format: see the changes with: ${CLANG_FORMAT} --dry-run <file>" >&2
  echo "check-format: fix them all with:    make format" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files clang-formatted"
