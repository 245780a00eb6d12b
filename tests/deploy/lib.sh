# shellcheck shell=bash
# Shared by the tests/deploy scripts (sourced, not run).

# ensure_command COMMAND PACKAGE: makes COMMAND available, installing Debian's PACKAGE if
# it is missing (CI starts clean and runs as root). Exits 77 (ctest: Skipped) when it
# cannot install: not root and no password-less sudo.
ensure_command() {
  local command="$1" package="$2"
  if command -v "${command}" >/dev/null 2>&1; then
    return 0
  fi
  ensure_packages "${package}"
  if ! command -v "${command}" >/dev/null 2>&1; then
    echo "FAIL: ${package} is installed but ${command} is not on PATH" >&2
    exit 1
  fi
}

# ensure_packages PACKAGE...: installs those not installed (see ensure_command).
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "${package}" 2>/dev/null || true)" \
      != "install ok installed" ]]; then
      missing+=("${package}")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0

  local as_root=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then
      as_root=(sudo -n --preserve-env=DEBIAN_FRONTEND)
    else
      echo "SKIP: needs ${missing[*]} (apt-get install ${missing[*]}, as root)" >&2
      exit 77
    fi
  fi
  echo "installing ${missing[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  # The lock timeout waits for another apt instead of failing at once.
  local apt=("${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 -q)
  if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    "${apt[@]}" update >/dev/null
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# yaml_python: prints a Python 3 that can `import yaml`, installing Debian's python3-yaml
# for /usr/bin/python3 if no python3 on PATH has it.
yaml_python() {
  local python
  for python in python3 /usr/bin/python3; do
    if "${python}" -c 'import yaml' 2>/dev/null; then
      echo "${python}"
      return 0
    fi
  done
  ensure_packages python3 python3-yaml >&2
  echo /usr/bin/python3
}
