#!/usr/bin/env bash
# Measures the daemon's gRPC service against a bare gRPC echo server built the
# same way (bench/loadgen/echo_server), with the same load generator in the same
# run, and prints a markdown table: measurement | corosched | echo ceiling |
# ratio | target, then what each throughput run cost in CPU per call (the
# daemon, the echo server, the load generator) and the daemon's CPU budget at
# the target: on a machine the load generator shares, cores / (0.8 x echo
# rate) is all the CPU one call may take, client included. Targets:
# docs/PERFORMANCE.md, "The service".
#
# Usage: bench/loadgen/run.sh [--build-dir DIR] [--seconds S] [--channels N]
#                             [--inflight N]
#   --build-dir  CMake build tree (default: build), Release; the targets
#                corosched-server, echo_server and corosched_loadgen are built
#   --seconds    length of each measurement (default 5)
#   --channels, --inflight  concurrency of the throughput runs (default 4 x 16)
#
# Both servers listen on free loopback ports (port 0 and --ready-file); both
# are stopped with SIGTERM at exit. The raw JSON lines go to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="build"
seconds=5
channels=4
inflight=16
while (($#)); do
  case "$1" in
    --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift ;;
    --channels) channels="${2:?--channels needs a number}"; shift ;;
    --inflight) inflight="${2:?--inflight needs a number}"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

cd "$repo_root"
[[ "$build_dir" = /* ]] || build_dir="$repo_root/$build_dir"
log() { echo "run.sh: $*" >&2; }

log "building corosched-server echo_server corosched_loadgen in $build_dir"
cmake --build "$build_dir" --target corosched-server echo_server corosched_loadgen >&2

# shellcheck source=bench/loadgen/servers.sh
source "$repo_root/bench/loadgen/servers.sh"
servers_init
work="$SERVERS_WORK"
echo_addr="$(start_echo "$build_dir/bench/loadgen/echo_server")"
# --durability none: this measures the gRPC service path; what the durable
# store adds is bench/durability/run.sh's measurement.
daemon_addr="$(start_daemon "$build_dir/server/corosched-server" \
  --max-tasks 2000000)"
log "echo server $echo_addr, daemon $daemon_addr"

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
# measure MODE TARGET: runs one mode and keeps its JSON line in $work/MODE.json.
measure() {
  local pid_file="$work/daemon.pid"
  [[ "$2" == "$echo_addr" ]] && pid_file="$work/echo.pid"
  timeout $((${seconds%.*} + 60)) "$build_dir/bench/loadgen/corosched_loadgen" \
    --mode "$1" --target "$2" --seconds "$seconds" \
    --channels "$channels" --inflight "$inflight" \
    --server-pid "$(cat "$pid_file")" >"$work/$1.json"
  cat "$work/$1.json" >&2
}
# Each daemon measurement right after its ceiling, so both see the same noise.
measure unary-echo "$echo_addr"
measure submit "$daemon_addr"
measure wake "$daemon_addr"
measure stream-echo "$echo_addr"
measure submit-stream "$daemon_addr"
measure latency-echo "$echo_addr"
measure latency-submit "$daemon_addr"
measure latency-first-poll "$daemon_addr"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

get() { jq -r ".$2" "$work/$1.json"; }
errors=0
for f in "$work"/*.json; do errors=$((errors + $(jq -r .errors "$f"))); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r >= 0.8 ? "met" : "MISSED") }'; }

echo "| measurement | corosched | echo ceiling | ratio | target |"
echo "|---|---|---|---|---|"
row() {  # row LABEL DAEMON_MODE ECHO_MODE
  local d e r
  d="$(get "$2" calls_per_s)"; e="$(get "$3" calls_per_s)"; r="$(ratio "$d" "$e")"
  echo "| $1 | $d/s | $e/s | $r | >= 0.8: $(verdict "$r") |"
}
row "SubmitTask (${channels} ch x ${inflight} in flight) vs unary echo" submit unary-echo
row "SubmitTasks stream (${channels} streams x ${inflight} pipelined) vs stream echo" submit-stream stream-echo
row "WakeTask (${channels} ch x ${inflight} in flight) vs unary echo" wake unary-echo
e50="$(get latency-echo p50_us)"; e99="$(get latency-echo p99_us)"
f50="$(get latency-first-poll p50_us)"; f99="$(get latency-first-poll p99_us)"
diff=$((f50 - e50))
echo "| submit to first poll, 1 in flight, p50 (p99) vs echo round trip | ${f50} us (${f99}) | ${e50} us (${e99}) | $(printf "%+d" "$diff") us | <= echo + 25 us: $( ((diff <= 25)) && echo met || echo MISSED) |"
d50="$(get latency-submit p50_us)"; d99="$(get latency-submit p99_us)"
echo "| SubmitTask round trip, 1 in flight, p50 (p99) (no target) | ${d50} us (${d99}) | ${e50} us (${e99}) | $(printf "%+d" $((d50 - e50))) us | - |"
echo
cores="$(nproc)"
echo "| CPU per call, us (${cores} cores, load generator on the same machine) | daemon | echo server | load generator: with daemon / with echo | daemon budget at 0.8 of echo: ${cores} s / (0.8 x echo calls) - load generator |"
echo "|---|---|---|---|---|"
cpu_row() {  # cpu_row LABEL DAEMON_MODE ECHO_MODE
  local budget
  budget="$(awk -v c="$cores" -v e="$(get "$3" calls_per_s)" -v l="$(get "$2" client_cpu_us)" \
    'BEGIN { printf "%.1f", c * 1e6 / (0.8 * e) - l }')"
  echo "| $1 | $(get "$2" server_cpu_us) | $(get "$3" server_cpu_us) | $(get "$2" client_cpu_us) / $(get "$3" client_cpu_us) | ${budget} |"
}
cpu_row SubmitTask submit unary-echo
cpu_row "SubmitTasks stream (per message)" submit-stream stream-echo
cpu_row WakeTask wake unary-echo
echo
echo "WakeTask answers BUFFERED (task not yet back in its await; consumed later): $(get wake buffered) of $(get wake calls)."
echo "Errors: $errors. Load average before: $load_before; after: $load_after; $(nproc) cores."
