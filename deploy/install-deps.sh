#!/usr/bin/env bash
# Installs the Debian 12 packages Corosched needs, and nothing that is already there.
#
#   deploy/install-deps.sh [GROUP...]      GROUP: build (default), runtime, test, bench, postgres, redis, all
#
#   build    compiler, CMake/Ninja, formatters, and every -dev package the build links
#   runtime  only the shared libraries the daemon loads (for a slim container image)
#   test     tools the test suites call, the Prometheus server the monitoring
#            end-to-end test scrapes the daemon with, nginx for the cluster front's checks,
#            and PostgreSQL, whose private servers the scale-out store's tests start
#            (tests/testing/postgres.sh); installed up front so that tests running in
#            parallel never race on apt
#   bench    Rust and Tokio for the side-by-side executor benchmark; PostgreSQL, Redis and
#            Node.js/npm (and python3) for the peer job-queue benchmark (bench/peers/run.sh)
#   postgres PostgreSQL alone (tests/testing/postgres.sh installs it this way)
#   redis    Redis alone (tests/testing/redis.sh installs it this way)
#   all      build + test + bench (what a developer machine wants)
#
# Idempotent and non-interactive: it asks dpkg which packages are missing and only then
# runs `apt-get update` once and installs exactly those. Runs as root, or through sudo.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# clang-14 only recommends libclang-rt-14-dev, which holds the sanitizer runtimes; with
# --no-install-recommends it must be named. llvm-14 provides llvm-symbolizer, which turns
# sanitizer reports into file:line stacks.
readonly BUILD_PACKAGES=(
  cmake ninja-build make git pkg-config ca-certificates
  clang-14 libclang-rt-14-dev llvm-14 clang-format clang-tidy
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libspdlog-dev libsqlite3-dev libpq-dev prometheus-cpp-dev libgoogle-perftools-dev
  libjwt-dev libssl-dev
)
readonly RUNTIME_PACKAGES=(
  libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623
  libsqlite3-0 libspdlog1.10 libpq5 libjwt0
  libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libtcmalloc-minimal4 ca-certificates
)
readonly TEST_PACKAGES=(procps python3 strace curl prometheus openssl postgresql nginx-light)
readonly BENCH_PACKAGES=(cargo librust-tokio-dev postgresql redis-server nodejs npm python3)

# Packages that count as present when their command is on PATH, whichever package brought
# it: a Node.js from another Debian repository ships npm inside its nodejs package and
# conflicts with Debian's npm, so asking dpkg alone would try to install a conflict.
declare -A PRESENT_IF_COMMAND=([nodejs]=node [npm]=npm)

usage() {
  echo "usage: $0 [build|runtime|test|bench|postgres|redis|all]..." >&2
  exit 2
}

wanted=()
add_group() {
  case "$1" in
    build) wanted+=("${BUILD_PACKAGES[@]}") ;;
    runtime) wanted+=("${RUNTIME_PACKAGES[@]}") ;;
    test) wanted+=("${TEST_PACKAGES[@]}") ;;
    bench) wanted+=("${BENCH_PACKAGES[@]}") ;;
    postgres) wanted+=(postgresql) ;;
    redis) wanted+=(redis-server) ;;
    all) add_group build && add_group test && add_group bench ;;
    -h | --help) usage ;;
    *)
      echo "install-deps: unknown group '$1'" >&2
      usage
      ;;
  esac
}

if [[ $# -eq 0 ]]; then
  add_group build
fi
for group in "$@"; do
  add_group "${group}"
done

# A package counts as present only when dpkg says "install ok installed"; a removed
# package whose config files linger ("deinstall ok config-files") must be reinstalled.
missing=()
for package in "${wanted[@]}"; do
  command_name="${PRESENT_IF_COMMAND[${package}]-}"
  if [[ -n "${command_name}" ]] && command -v "${command_name}" >/dev/null 2>&1; then
    continue
  fi
  status="$(dpkg-query -W -f='${Status}' "${package}" 2>/dev/null || true)"
  if [[ "${status}" != "install ok installed" ]]; then
    case " ${missing[*]-} " in
      *" ${package} "*) ;;
      *) missing+=("${package}") ;;
    esac
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all packages present ($*)"
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo --preserve-env=DEBIAN_FRONTEND)
else
  echo "install-deps: these packages are missing: ${missing[*]}" >&2
  echo "install-deps: run this script as root, or install sudo" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update
# postgresql and redis-server would start their system services from their postinst;
# the benchmarks and tests start private servers of their own. Where no policy-rc.d
# exists, one that denies service starts is in place for the install only.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e "${policy}" ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "${policy}" >/dev/null
  "${as_root[@]}" chmod +x "${policy}"
  added_policy=1
fi
status=0
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}" || status=$?
if [[ "${added_policy}" -eq 1 ]]; then
  "${as_root[@]}" rm -f "${policy}"
fi
exit "${status}"
