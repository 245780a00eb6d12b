#!/usr/bin/env bash
# Corosched's side of the peer benchmark, for `bench/peers/run.sh --corosched-cmd
# bench/peers/corosched.sh`: starts a daemon (Release build, the durable default store:
# SQLite, one fsync per group commit) on a free loopback port with a fresh data
# directory, runs corosched_peer_bench, which starts corosched_peer_worker (a separate
# process on corosched::Worker) and submits and measures, then stops the daemon and
# removes its directory. Prints the driver's JSON lines on stdout.
#
# Usage: bench/peers/corosched.sh [DRIVER FLAG...] [-- DAEMON FLAG...]
#   Sizes come from run.sh's environment (BENCH_JOBS BENCH_CONCURRENCY BENCH_RATE
#   BENCH_SECONDS BENCH_BATCH BENCH_WARMUP; defaults as run.sh's); DRIVER FLAGs
#   (corosched_peer_bench --help) come after and win. DAEMON FLAGs are added to the
#   daemon's command line (a later flag wins).
#   COROSCHED_BUILD_DIR: the CMake build tree (default: build), whose targets
#   corosched-server, corosched_peer_bench and corosched_peer_worker must be built.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${COROSCHED_BUILD_DIR:-build}"
[[ "${build_dir}" = /* ]] || build_dir="${repo_root}/${build_dir}"

driver_flags=()
daemon_flags=()
while (($#)); do
  if [[ "$1" == "--" ]]; then
    shift
    daemon_flags=("$@")
    break
  fi
  driver_flags+=("$1")
  shift
done

server="${build_dir}/server/corosched-server"
driver="${build_dir}/bench/peers/corosched/corosched_peer_bench"
worker="${build_dir}/bench/peers/corosched/corosched_peer_worker"
for binary in "${server}" "${driver}" "${worker}"; do
  if [[ ! -x "${binary}" ]]; then
    echo "corosched.sh: ${binary} is missing: cmake --build ${build_dir} --target" \
      "corosched-server corosched_peer_bench corosched_peer_worker" >&2
    exit 1
  fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/corosched-peer-XXXXXX")"
daemon_pid=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  if [[ -n "${daemon_pid}" ]]; then
    kill -TERM "${daemon_pid}" 2>/dev/null || true
    for _ in $(seq 300); do
      kill -0 "${daemon_pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${daemon_pid}" 2>/dev/null || true
    wait "${daemon_pid}" 2>/dev/null || true
  fi
  rm -rf "${work}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --durability sync is the default; said here so the benchmark never drifts from it.
"${server}" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --durability sync \
  --data-dir "${work}/data" --ready-file "${work}/ready" --log-level warn \
  --max-tasks 1000000 "${daemon_flags[@]}" >"${work}/daemon.log" 2>&1 &
daemon_pid=$!

address=""
for _ in $(seq 300); do
  if [[ -s "${work}/ready" ]]; then
    address="$(head -n1 "${work}/ready")"
    break
  fi
  if ! kill -0 "${daemon_pid}" 2>/dev/null; then
    echo "corosched.sh: the daemon exited before it was ready:" >&2
    cat "${work}/daemon.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "${address}" ]]; then
  echo "corosched.sh: the daemon wrote no ready file within 30 s" >&2
  exit 1
fi

status=0
"${driver}" --target "${address}" --server-pid "${daemon_pid}" --worker "${worker}" \
  --jobs "${BENCH_JOBS:-10000}" --concurrency "${BENCH_CONCURRENCY:-16}" \
  --rate "${BENCH_RATE:-500}" --seconds "${BENCH_SECONDS:-5}" \
  --batch "${BENCH_BATCH:-500}" --warmup "${BENCH_WARMUP:-200}" \
  "${driver_flags[@]}" || status=$?
if [[ "${status}" -ne 0 ]]; then
  echo "corosched.sh: the driver failed (${status}); the daemon's log:" >&2
  tail -n 20 "${work}/daemon.log" >&2
fi
exit "${status}"
