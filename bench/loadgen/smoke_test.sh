#!/usr/bin/env bash
# Smoke test of the service benchmark's tools (ctest: bench_loadgen_smoke):
# starts corosched-server and echo_server on free loopback ports and runs every
# corosched_loadgen mode for a few calls, so the benchmark cannot rot unseen.
# Each mode must answer every call without error, and its JSON line must carry
# a positive rate, latencies and the client's CPU per call (and the server's,
# read from /proc, where --server-pid is given). Timings are not checked
# (bench/loadgen/run.sh measures; these machines are noisy).
#
# Usage: smoke_test.sh SERVER ECHO_SERVER LOADGEN
set -euo pipefail

server="${1:?corosched-server path}"
echo_server="${2:?echo_server path}"
loadgen="${3:?corosched_loadgen path}"
# shellcheck source=bench/loadgen/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
servers_init
echo_addr="$(start_echo "$echo_server")"
daemon_addr="$(start_daemon "$server")"

failed=0
check() {  # check MODE TARGET [SERVER_PID]
  local line
  if ! line="$(timeout 120 "$loadgen" --mode "$1" --target "$2" --seconds 10 \
    --channels 2 --inflight 2 --max-calls 40 ${3:+--server-pid "$3"})"; then
    echo "FAIL: $1: corosched_loadgen failed" >&2
    failed=1
    return
  fi
  echo "$line"
  # {"mode":..,"calls_per_s":..,"p50_us":..,"p99_us":..,"errors":..,"calls":..}
  if ! awk -v line="$line" -v mode="$1" -v pid="${3:-}" 'BEGIN {
      n = split(line, kv, /[{},:"]+/)
      for (i = 1; i < n; i++) v[kv[i]] = kv[i + 1]
      ok = v["mode"] == mode && v["errors"] == 0 && v["calls"] >= 1 &&
           v["calls_per_s"] > 0 && v["p50_us"] > 0 && v["p99_us"] >= v["p50_us"] &&
           v["client_cpu_us"] > 0 &&
           (pid == "" ? v["server_cpu_us"] == -1 : v["server_cpu_us"] >= 0)
      exit ok ? 0 : 1
    }'; then
    echo "FAIL: $1: expected calls, no errors, latencies and CPU per call, got: $line" >&2
    failed=1
  fi
}
check unary-echo "$echo_addr"
check stream-echo "$echo_addr"
check latency-echo "$echo_addr"
# With --server-pid the line carries the server's CPU per call, from /proc.
check submit "$daemon_addr" "$(cat "$SERVERS_WORK/daemon.pid")"
check submit-stream "$daemon_addr"
check wake "$daemon_addr"
check latency-submit "$daemon_addr"
check latency-first-poll "$daemon_addr"
if ((failed)); then
  echo "--- daemon log" >&2; cat "$SERVERS_WORK/daemon.log" >&2
  exit 1
fi
echo "PASS: every corosched_loadgen mode ran without errors"
