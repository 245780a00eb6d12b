#!/usr/bin/env bash
# Installs the client package from an already built tree into a temporary
# prefix, then configures, builds and runs tests/install/consumer against it.
#
#   run_install_test.sh BUILD_DIR WORK_DIR GENERATOR CXX BUILD_TYPE [FLAGS]
#
# FLAGS (compile and link) carry a sanitizer build's flags to the consumer,
# which must be built the same way as the library it links.
set -euo pipefail

if [[ $# -lt 5 ]]; then
  echo "usage: $0 BUILD_DIR WORK_DIR GENERATOR CXX BUILD_TYPE [FLAGS]" >&2
  exit 2
fi
readonly build_dir=$1 work=$2 generator=$3 cxx=$4 build_type=$5 flags=${6:-}
readonly consumer_src="$(cd "$(dirname "$0")" && pwd)/consumer"

rm -rf "${work}"
mkdir -p "${work}"
prefix="${work}/prefix"

echo "== cmake --install ${build_dir} --component client --prefix ${prefix}"
cmake --install "${build_dir}" --component client --prefix "${prefix}"

for file in lib/cmake/corosched/corosched-config.cmake \
  include/corosched/client/client.h \
  include/corosched/corosched/v1/scheduler.grpc.pb.h; do
  if [[ ! -f "${prefix}/${file}" ]]; then
    echo "FAIL: the install is missing ${file}" >&2
    exit 1
  fi
done

echo "== configure and build the consumer against ${prefix}"
cmake -S "${consumer_src}" -B "${work}/build" -G "${generator}" \
  -DCMAKE_CXX_COMPILER="${cxx}" \
  -DCMAKE_BUILD_TYPE="${build_type}" \
  -DCMAKE_PREFIX_PATH="${prefix}" \
  -DCMAKE_CXX_FLAGS="${flags}" \
  -DCMAKE_EXE_LINKER_FLAGS="${flags}"
cmake --build "${work}/build"

echo "== run the consumer"
output=$("${work}/build/consumer")
echo "${output}"
for expected in "corosched client " "parsed definition hello" \
  "health: UNAVAILABLE"; do
  if [[ "${output}" != *"${expected}"* ]]; then
    echo "FAIL: the consumer did not print '${expected}'" >&2
    exit 1
  fi
done
echo "PASS: find_package(corosched) and corosched::client work from ${prefix}"
