#!/usr/bin/env bash
# Smoke test of Corosched's side of the peer benchmark (ctest:
# bench_peers_corosched_smoke): bench/peers/corosched.sh with tiny sizes, that is
# a durable daemon on a free loopback port, corosched_peer_worker on
# corosched::Worker and corosched_peer_bench, so the side cannot rot unseen
# without PostgreSQL, Redis or npm. It must print one throughput and one latency
# line for every job it was given, each with a positive rate, CPU per job of all
# three processes and, for latency, p50 <= p99. Timings are not checked
# (bench/peers/run.sh measures; these machines are noisy).
#
# Usage: smoke_test.sh BUILD_DIR
set -euo pipefail

build_dir="${1:?the CMake build tree}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

out="$(COROSCHED_BUILD_DIR="${build_dir}" BENCH_JOBS=300 BENCH_CONCURRENCY=4 \
  BENCH_RATE=100 BENCH_SECONDS=1 BENCH_BATCH=100 BENCH_WARMUP=20 \
  timeout 120 "${here}/../corosched.sh")"
echo "${out}"

number='[0-9]+(\.[0-9]+)?'
cpu="\"cpu_us_per_job\":\\{\"producer\":${number},\"worker\":${number},\"server\":${number}\\}"
failed=0
expect() {  # expect NAME REGEX
  if ! grep -Eq "$2" <<<"${out}"; then
    echo "FAIL: no ${1} line of the expected shape" >&2
    failed=1
  fi
}
expect throughput "^\\{\"peer\":\"corosched\",\"mode\":\"throughput\",\"jobs\":300,\"concurrency\":4,\"jobs_per_s\":${number},\"p50_us\":null,\"p99_us\":null,${cpu},\"durable\":\"[^\"]+\",\"batch\":100,"
expect latency "^\\{\"peer\":\"corosched\",\"mode\":\"latency\",\"jobs\":100,\"concurrency\":4,\"jobs_per_s\":${number},\"p50_us\":[0-9]+,\"p99_us\":[0-9]+,${cpu},"
p50="$(grep -Eo '"mode":"latency".*"p50_us":[0-9]+' <<<"${out}" | grep -Eo '[0-9]+$' || true)"
p99="$(grep -Eo '"mode":"latency".*"p99_us":[0-9]+' <<<"${out}" | grep -Eo '[0-9]+$' || true)"
if [[ -z "${p50}" || -z "${p99}" || "${p50}" -gt "${p99}" ]]; then
  echo "FAIL: latency p50 '${p50}' is not at most p99 '${p99}'" >&2
  failed=1
fi
if [[ "$(grep -c '^{' <<<"${out}")" -ne 2 ]]; then
  echo "FAIL: expected exactly two JSON lines" >&2
  failed=1
fi
exit "${failed}"
