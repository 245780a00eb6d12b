#!/usr/bin/env bash
# Prints our C++ and proto sources, one path per line, relative to the repository root:
# tracked files plus new files not yet added (but never ignored ones, so build trees and
# generated code stay out).
#
#   tools/list-sources.sh            *.h *.cc *.proto (what clang-format checks)
#   tools/list-sources.sh cc         *.cc only (the translation units clang-tidy checks)
set -euo pipefail

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"

readonly FOLDERS=(proto core net server client tests bench examples)
case "${1:-all}" in
  all) patterns=('*.h' '*.cc' '*.proto') ;;
  cc) patterns=('*.cc') ;;
  *)
    echo "usage: $0 [all|cc]" >&2
    exit 2
    ;;
esac

pathspecs=()
for folder in "${FOLDERS[@]}"; do
  for pattern in "${patterns[@]}"; do
    pathspecs+=("${folder}/${pattern}")
  done
done

# In a plain pathspec "*" also matches "/", so core/*.h finds headers at any depth.
# -c: tracked, -o: untracked, --exclude-standard: minus .gitignore'd. A file deleted from
# the work tree but not yet from the index is still listed by -c; skip it.
git ls-files -co --exclude-standard -- "${pathspecs[@]}" | sort -u | while read -r file; do
  if [[ -f "${file}" ]]; then
    echo "${file}"
  fi
done
