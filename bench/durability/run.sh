#!/usr/bin/env bash
# The durable store's benchmark, in one run (docs/PERFORMANCE.md, "Durability"):
#  1. the raw fsync rate of the data directory's disk (bench/durability/fsync_rate:
#     4 KiB appends, each fdatasynced), the ceiling group commit works around;
#  2. SubmitTask throughput with --durability=sync against --durability=none, the
#     same load generator (bench/loadgen, examples/hello.json inline) and the same
#     concurrency (target: sync / none >= 0.8);
#  3. recovery: a data directory holding N unfinished tasks, each recorded waiting
#     in its await as the daemon leaves it (bench/durability/populate_store), the
#     time from starting the daemon to its ready file (SERVING; target: under 10 s
#     for 1 million), and the daemon's resident memory once every task waits in
#     its await again and the memory has settled (target: under 1 GiB).
#
# Usage: bench/durability/run.sh [--build-dir DIR] [--data-dir DIR] [--seconds S]
#                                [--tasks N] [--channels N] [--inflight N]
#   --build-dir  Release build tree (default: build)
#   --data-dir   where the databases go (default: a new directory under ./bench-data,
#                on the disk a deployment would use; removed afterwards)
#   --tasks      unfinished tasks for the recovery measurement (default 1000000)
# Prints a markdown table, then the CPU per submit of both runs (daemon and load
# generator) beside the daemon's budget for the target; the raw JSON lines go to
# stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="build"
data_root=""
seconds=5
tasks=1000000
channels=4
inflight=16
while (($#)); do
  case "$1" in
    --build-dir) build_dir="${2:?}"; shift ;;
    --data-dir) data_root="${2:?}"; shift ;;
    --seconds) seconds="${2:?}"; shift ;;
    --tasks) tasks="${2:?}"; shift ;;
    --channels) channels="${2:?}"; shift ;;
    --inflight) inflight="${2:?}"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

cd "$repo_root"
[[ "$build_dir" = /* ]] || build_dir="$repo_root/$build_dir"
log() { echo "run.sh: $*" >&2; }
log "building in $build_dir"
cmake --build "$build_dir" --target corosched-server corosched_loadgen fsync_rate \
  populate_store >&2

mkdir -p "${data_root:-$repo_root/bench-data}"
work="$(mktemp -d "${data_root:-$repo_root/bench-data}/run-XXXXXX")"
pid=""
stop_daemon() {
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}
cleanup() { stop_daemon; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_daemon NAME FLAGS...: starts the daemon, sets $pid and $addr, and
# $took: the seconds it took to write its ready file (at most 120 s).
start_daemon() {
  local name="$1"; shift
  rm -f "$work/$name.addr"
  local begin; begin="$(date +%s.%N)"
  "$build_dir/server/corosched-server" --listen 127.0.0.1:0 --log-level warn \
    --ready-file "$work/$name.addr" --drain-timeout 0s "$@" \
    >/dev/null 2>"$work/$name.log" &
  pid=$!
  for _ in $(seq 12000); do
    if [[ -s "$work/$name.addr" ]]; then
      addr="$(head -n1 "$work/$name.addr")"
      took="$(awk -v a="$begin" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "daemon exited: $(cat "$work/$name.log")"; return 1; }
    sleep 0.01
  done
  log "no ready file after 120 s"; return 1
}
submit_rate() {  # submit_rate NAME: loadgen against $addr; its JSON in $work/NAME.json
  timeout $((${seconds%.*} + 60)) "$build_dir/bench/loadgen/corosched_loadgen" \
    --mode submit --target "$addr" --seconds "$seconds" \
    --channels "$channels" --inflight "$inflight" --server-pid "$pid" \
    >"$work/$1.json"
  cat "$work/$1.json" >&2
  jq -r .calls_per_s "$work/$1.json"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
"$build_dir/bench/durability/fsync_rate" --dir "$work" --seconds 3 >"$work/fsync.json"
cat "$work/fsync.json" >&2
fsyncs="$(jq -r .fsyncs_per_s "$work/fsync.json")"

start_daemon none --durability none --max-tasks 2000000
none_rate="$(submit_rate none)"
stop_daemon
mkdir -p "$work/sync"
start_daemon sync --data-dir "$work/sync" --max-tasks 2000000
sync_rate="$(submit_rate sync)"
stop_daemon

log "writing $tasks unfinished tasks"
mkdir -p "$work/recovery"
"$build_dir/bench/durability/populate_store" --data-dir "$work/recovery" \
  --tasks "$tasks" >&2
db_bytes="$(du -sb "$work/recovery" | cut -f1)"
start_daemon recovery --data-dir "$work/recovery"
recovery_s="$took"
# Resident memory once no task is queued to run (every one waits in its await).
for _ in $(seq 600); do
  depth="$("$build_dir/client/cli/corosched" --addr "$addr" --output json stats \
    | jq -r '.runQueueDepth // 0')"
  [[ "$depth" == 0 ]] && break
  sleep 0.1
done
# ... and once it has settled (the writer has caught up): two readings a
# second apart within 1% (at most 60 s).
rss_kib="$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")"
for _ in $(seq 60); do
  sleep 1
  now_kib="$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")"
  settled="$(awk -v a="$rss_kib" -v b="$now_kib" 'BEGIN { d = a - b; if (d < 0) d = -d; print (d * 100 <= a) }')"
  rss_kib="$now_kib"
  [[ "$settled" == 1 ]] && break
done
stop_daemon
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

ratio="$(awk -v a="$sync_rate" -v b="$none_rate" 'BEGIN { printf "%.2f", a / b }')"
rss_mib="$(awk -v k="$rss_kib" 'BEGIN { printf "%.0f", k / 1024 }')"
per_task="$(awk -v k="$rss_kib" -v n="$tasks" 'BEGIN { printf "%.0f", k * 1024 / n }')"
ok() { awk "BEGIN { print ($1) ? \"met\" : \"MISSED\" }"; }
echo "| measurement | value | ceiling / target | verdict |"
echo "|---|---|---|---|"
echo "| raw fsync rate of the data disk (4 KiB append + fdatasync) | ${fsyncs}/s | | |"
echo "| SubmitTask, sync (${channels} ch x ${inflight} in flight) | ${sync_rate}/s | none: ${none_rate}/s; ratio ${ratio} (>= 0.8) | $(ok "$ratio >= 0.8") |"
echo "| sync submits per raw fsync | $(awk -v a="$sync_rate" -v b="$fsyncs" 'BEGIN { printf "%.1f", a / b }') | | |"
echo "| recovery of ${tasks} unfinished tasks ($((db_bytes / 1048576)) MiB database) to SERVING | ${recovery_s} s | < 10 s | $(ok "$recovery_s < 10") |"
echo "| resident memory with ${tasks} tasks waiting | ${rss_mib} MiB (${per_task} B per task) | < 1024 MiB | $(ok "$rss_mib < 1024") |"
echo
# What a submit cost the machine in each run: with the load generator on the
# same cores, cores / (0.8 x none rate) is all the CPU a durable submit may
# take, client included, for sync to reach 0.8.
cores="$(nproc)"
get() { jq -r ".$2" "$work/$1.json"; }
budget="$(awk -v c="$cores" -v n="$none_rate" -v l="$(get sync client_cpu_us)" \
  'BEGIN { printf "%.1f", c * 1e6 / (0.8 * n) - l }')"
echo "| CPU per submit, us (${cores} cores, load generator on the same machine) | daemon | load generator |"
echo "|---|---|---|"
echo "| none | $(get none server_cpu_us) | $(get none client_cpu_us) |"
echo "| sync | $(get sync server_cpu_us) | $(get sync client_cpu_us) |"
echo "| sync's budget for 0.8: ${cores} s / (0.8 x none submits) - load generator | ${budget} | |"
echo
echo "Load average before: $load_before; after: $load_after; $(nproc) cores."
