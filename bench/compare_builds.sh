#!/usr/bin/env bash
# Compares two Release builds of the daemon (such as a change against its
# base, each built in its own work tree) in the same minutes, alternating
# the two sides round by round, and prints a markdown table: per measurement
# the best round of each side and new/base. Measurements:
#   runner_bench         CPU per task of the runner without gRPC (memory and
#                        SQLite stores), from its counters
#   submit, wake (none)  the daemon under bench/loadgen's load, in memory:
#                        calls/s and the daemon's CPU per call
#   submit (sync)        the same on the durable store
# Lower CPU per call is better; a ratio within the spread of the rounds is
# noise. The NEW build's load generator drives both daemons.
#
# Usage: bench/compare_builds.sh BASE_BUILD_DIR NEW_BUILD_DIR [--rounds N]
#                                [--seconds S]
set -euo pipefail

base="${1:?usage: compare_builds.sh BASE_BUILD_DIR NEW_BUILD_DIR}"
new="${2:?usage: compare_builds.sh BASE_BUILD_DIR NEW_BUILD_DIR}"
shift 2
rounds=2
seconds=5
while (($#)); do
  case "$1" in
    --rounds) rounds="${2:?}"; shift ;;
    --seconds) seconds="${2:?}"; shift ;;
    *) echo "compare_builds.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
loadgen="$new/bench/loadgen/corosched_loadgen"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# json FIELD LINE: a number field of a JSON line.
json() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"; }
# counter NAME OUTPUT: a user counter of Google Benchmark's console output.
counter() { sed -n "s/.*$1=\([0-9.]*\)\(k\{0,1\}\).*/\1\2/p" <<<"$2" | head -1; }

# daemon_run BUILD MODE DURABILITY: one loadgen run; prints "calls/s cpu_us".
daemon_run() {
  local build="$1" mode="$2" durability="$3" dir="$work/data.$RANDOM"
  rm -f "$work/addr"
  "$build/server/corosched-server" --listen 127.0.0.1:0 --metrics-listen= \
    --durability "$durability" --data-dir "$dir" --max-tasks 2000000 \
    --ready-file "$work/addr" --log-level warn 2>"$work/daemon.log" &
  local pid=$!
  for _ in $(seq 1 300); do [[ -s "$work/addr" ]] && break; sleep 0.1; done
  local line
  line="$("$loadgen" --mode "$mode" --target "$(head -1 "$work/addr")" \
    --seconds "$seconds" --channels 4 --inflight 16 --server-pid "$pid")"
  kill "$pid"; wait "$pid" || true
  rm -rf "$dir"
  echo "$(json calls_per_s "$line") $(json server_cpu_us "$line")"
}

declare -A best
# keep KEY VALUE: the lowest value per key (CPU: lower is better).
keep() {
  local old="${best[$1]:-}"
  if [[ -z "$old" ]] || awk "BEGIN{exit !($2 < $old)}"; then best[$1]="$2"; fi
}

for ((round = 1; round <= rounds; ++round)); do
  for side in base new; do
    build="${!side}"
    echo "compare_builds.sh: round $round, $side ($build)" >&2
    out="$("$build/bench/runner_bench" 2>/dev/null)"
    keep "$side runner memory_cpu_us" "$(counter memory_cpu_us "$out")"
    keep "$side runner sqlite_cpu_us" "$(counter sqlite_cpu_us "$out")"
    keep "$side runner runner_cpu_us" "$(counter runner_cpu_us "$out")"
    for run in "submit none" "wake none" "submit sync"; do
      read -r _ cpu < <(daemon_run "$build" $run)
      keep "$side daemon $run cpu_us" "$cpu"
    done
  done
done

echo "| measurement (CPU per call, us; best of $rounds) | base | new | new/base |"
echo "|---|---|---|---|"
for key in "runner memory_cpu_us" "runner sqlite_cpu_us" "runner runner_cpu_us" \
  "daemon submit none cpu_us" "daemon wake none cpu_us" \
  "daemon submit sync cpu_us"; do
  b="${best[base $key]}"
  n="${best[new $key]}"
  echo "| $key | $b | $n | $(awk "BEGIN{printf \"%.2f\", $n / $b}") |"
done
