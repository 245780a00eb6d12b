#!/usr/bin/env bash
# Checks the runtime image's library list against what the built binaries really load.
#
#   check_runtime_deps.sh DOCKERFILE BINARY...
#   e.g. check_runtime_deps.sh deploy/Dockerfile build/server/corosched-server \
#          build/client/cli/corosched
#
# Every shared library `ldd` shows for the binaries is mapped to its Debian package with
# `dpkg -S`. Each such package must be in bookworm-slim already (an Essential or
# Priority: required package, or one of their dependencies) or be installed by the
# Dockerfile's RUNTIME_LIBRARIES list (with that list's dependencies); and each package
# in the list must provide at least one of those libraries. Exits 77 (skipped) when a
# binary does not exist yet. Run it on the machine that built the binaries.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 DOCKERFILE BINARY..." >&2
  exit 2
fi
dockerfile="$1"
shift
if [[ $# -eq 0 ]]; then
  echo "SKIP: no binaries given (corosched-server and corosched are not built yet)"
  exit 77
fi
for binary in "$@"; do
  if [[ ! -x "${binary}" ]]; then
    echo "SKIP: ${binary} is not built"
    exit 77
  fi
done

# The Dockerfile's ARG RUNTIME_LIBRARIES="a b c", continuation lines joined.
listed="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "${dockerfile}" |
  sed -n 's/^ARG RUNTIME_LIBRARIES="\(.*\)"$/\1/p')"
read -r -a listed <<<"${listed}"
if [[ ${#listed[@]} -eq 0 ]]; then
  echo "FAIL: no ARG RUNTIME_LIBRARIES=\"...\" in ${dockerfile}" >&2
  exit 1
fi

# owners PATH...: prints "PATH PACKAGE" for each library, in one dpkg call. /lib is a link
# to /usr/lib (merged /usr) and dpkg knows each file under one of its names only, so each
# path is asked for under every name.
owners() {
  local path candidates=()
  for path in "$@"; do
    candidates+=("${path}" "/usr${path}" "${path#/usr}" "$(readlink -f "${path}")")
  done
  dpkg -S "${candidates[@]}" 2>/dev/null |
    sed -n 's/^\([^:, ]*\)[^ ]*: \(\/.*\)$/\2 \1/p' || true
}

# closure PACKAGE...: the packages and everything they depend on (installed ones).
closure() {
  apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "$@" 2>/dev/null |
    grep -v '^[[:space:]<]' | cut -d: -f1 | sort -u
}

failed=0
declare -A loaded_by=()  # library path -> a binary that loads it
for binary in "$@"; do
  ldd_out="$(ldd "${binary}")"
  if grep -q 'not found' <<<"${ldd_out}"; then
    echo "FAIL: ${binary} has unresolved libraries:" >&2
    grep 'not found' <<<"${ldd_out}" >&2
    failed=1
  fi
  while read -r library; do
    loaded_by["${library}"]="${binary}"
  done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"${ldd_out}")
done

declare -A owner=()  # any name of a library file -> its package
while read -r path package; do owner["${path}"]="${package}"; done \
  < <(owners "${!loaded_by[@]}")
declare -A needed=()  # package -> a library of it the binaries load
for library in "${!loaded_by[@]}"; do
  package=""
  for candidate in "${library}" "/usr${library}" "${library#/usr}" \
    "$(readlink -f "${library}")"; do
    package="${owner[${candidate}]-}"
    [[ -n "${package}" ]] && break
  done
  if [[ -n "${package}" ]]; then
    needed["${package}"]="${library}"
  else
    echo "FAIL: no Debian package owns ${library} (loaded by ${loaded_by[${library}]})" >&2
    failed=1
  fi
done

mapfile -t base_roots < <(dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' |
  awk '$2 == "yes" || $3 == "required" {print $1}')
declare -A provided=()
for package in $(closure "${base_roots[@]}"); do provided["${package}"]=base; done
for package in $(closure "${listed[@]}"); do
  [[ -n "${provided[${package}]-}" ]] || provided["${package}"]=listed
done

for package in $(printf '%s\n' "${!needed[@]}" | sort); do
  if [[ -z "${provided[${package}]-}" ]]; then
    echo "MISSING from RUNTIME_LIBRARIES in ${dockerfile}: ${package}" \
      "(provides ${needed[${package}]})" >&2
    failed=1
  fi
done
for package in "${listed[@]}"; do
  if [[ -z "${needed[${package}]-}" ]]; then
    echo "UNUSED in RUNTIME_LIBRARIES in ${dockerfile}: ${package}" \
      "(no binary loads a library of it)" >&2
    failed=1
  fi
done

if [[ ${failed} -ne 0 ]]; then
  exit 1
fi
echo "OK: the ${#needed[@]} packages whose libraries $* load are in bookworm-slim or" \
  "in RUNTIME_LIBRARIES (${listed[*]}), and each of those is used"
