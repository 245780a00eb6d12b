#!/usr/bin/env bash
# Several daemons over one PostgreSQL (docs/scale-out-deploy.md), measured in one run with
# every side alternated round by round (sqlite, pg1, pg2, pg3, graphile, sqlite, ...):
#   sqlite    one daemon on its SQLite store (--durability sync, the default)
#   pg1..pg3  one, two and three daemons on one PostgreSQL (--postgres-url)
#   graphile  graphile-worker (bench/peers/graphile.mjs, throughput mode) on the same
#             PostgreSQL server, for the same job count
# A corosched measurement submits --tasks hello tasks (examples/hello.json inline, the
# load generator of bench/loadgen in --mode submit, one per daemon, each sending its
# share) and ends when every task has completed (the daemons' own
# corosched_tasks_finished_total{outcome="completed"}); tasks/s is tasks over that time.
# CPU, as deltas over the measurement from /proc: each daemon's utime+stime; PostgreSQL's
# postmaster (with cutime+cstime: backends that exited) plus its live backends.
# Prints a markdown table of every measurement and then the ratios of each side's best
# round the targets are about: pg1 / sqlite (target >= 0.5), pg2 / pg1 and pg3 / pg1
# (how far more daemons carry one PostgreSQL), pg1 / graphile (target >= 3).
#
# Usage: bench/cluster/run.sh [options]
#   --build-dir DIR    Release build tree (default: build); corosched-server and
#                      corosched_loadgen are built
#   --no-build         use the binaries already in the build tree as they are
#   --tasks N          tasks (jobs) per measurement (default 20000)
#   --rounds R         rounds; each runs every side once (default 3)
#   --channels N, --inflight N
#                      load generator concurrency per daemon (default 4 x 16)
#   --concurrency C    graphile-worker's worker concurrency (default 16)
#   --sides LIST       comma-separated subset of sqlite,pg1,pg2,pg3,graphile (default all)
#
# PostgreSQL: a private server from tests/testing/postgres.sh (fsync=on,
# synchronous_commit=on, loopback, stopped and removed at exit); each measurement gets a
# database of its own, dropped after it. Daemons: free loopback ports, plaintext, logs
# at warn, --max-tasks 2000000; each measurement starts them fresh. graphile-worker:
# `npm ci` in bench/peers when its node_modules is missing. Raw JSON lines go to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="build"
tasks=20000
rounds=3
channels=4
inflight=16
concurrency=16
sides_list="sqlite,pg1,pg2,pg3,graphile"
build=1
while (($#)); do
  case "$1" in
    --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift ;;
    --tasks) tasks="${2:?--tasks needs a number}"; shift ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --channels) channels="${2:?--channels needs a number}"; shift ;;
    --inflight) inflight="${2:?--inflight needs a number}"; shift ;;
    --concurrency) concurrency="${2:?--concurrency needs a number}"; shift ;;
    --sides) sides_list="${2:?--sides needs a list}"; shift ;;
    --no-build) build=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
IFS=, read -r -a sides <<<"${sides_list}"
for side in "${sides[@]}"; do
  case "${side}" in
    sqlite | pg1 | pg2 | pg3 | graphile) ;;
    *) echo "run.sh: unknown side '${side}' in --sides" >&2; exit 2 ;;
  esac
done

cd "${repo_root}"
[[ "${build_dir}" = /* ]] || build_dir="${repo_root}/${build_dir}"
log() { echo "cluster/run.sh: $*" >&2; }
for cmd in python3 jq; do
  command -v "${cmd}" >/dev/null || { log "needs ${cmd}"; exit 2; }
done

if ((build)); then
  log "building corosched-server corosched_loadgen in ${build_dir}"
  cmake --build "${build_dir}" --target corosched-server corosched_loadgen >&2
fi
server="${build_dir}/server/corosched-server"
loadgen="${build_dir}/bench/loadgen/corosched_loadgen"

# shellcheck source=tests/testing/postgres.sh
source "${repo_root}/tests/testing/postgres.sh"
work="$(mktemp -d "${TMPDIR:-/tmp}/corosched-cluster-bench-XXXXXX")"
daemon_pids=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  stop_daemons
  pg_stop
  rm -rf "${work}"
}

if [[ " ${sides[*]} " == *" graphile "* ]]; then
  command -v node >/dev/null || { log "graphile needs node: deploy/install-deps.sh bench"; exit 2; }
  peers="${repo_root}/bench/peers"
  if [[ ! -f "${peers}/node_modules/.package-lock.json" ||
    "${peers}/package-lock.json" -nt "${peers}/node_modules/.package-lock.json" ]]; then
    log "npm ci in bench/peers"
    (cd "${peers}" && npm ci --no-audit --no-fund >&2)
  fi
fi

pg_start
trap cleanup EXIT  # pg_start set its own
trap 'exit 130' INT TERM

# cpu_us PID [tree]: utime+stime of PID in microseconds; with `tree`, also its reaped
# children's (cutime+cstime) and its live children's utime+stime.
cpu_us() {
  python3 - "$@" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
def fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()
root = int(sys.argv[1])
own = fields(root)
ticks = int(own[11]) + int(own[12])
if len(sys.argv) > 2:
    ticks += int(own[13]) + int(own[14])
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != root:
            try:
                child = fields(entry)
            except OSError:
                continue
            if int(child[1]) == root:
                ticks += int(child[11]) + int(child[12])
print(ticks * 1_000_000 // hz)
PY
}

now_ns() { date +%s%N; }

# fresh_database NAME: PG_URL's server, database NAME created anew; prints its URL.
fresh_database() {
  local pg=(-h "${PG_HOST}" -p "${PG_PORT}" -U "${PG_USER}")
  "${PG_BIN}/dropdb" "${pg[@]}" --if-exists "$1" >&2
  "${PG_BIN}/createdb" "${pg[@]}" "$1" >&2
  echo "postgresql://${PG_USER}@${PG_HOST}:${PG_PORT}/$1"
}
drop_database() {
  "${PG_BIN}/dropdb" -h "${PG_HOST}" -p "${PG_PORT}" -U "${PG_USER}" --if-exists "$1" >&2
}

# start_daemons COUNT DIR FLAG...: COUNT daemons with FLAGs; sets daemon_pids,
# daemon_addrs, daemon_metrics. "%d" in a flag becomes the daemon's number.
start_daemons() {
  local count="$1" dir="$2" n pid
  shift 2
  daemon_pids=()
  daemon_addrs=()
  daemon_metrics=()
  for ((n = 1; n <= count; n++)); do
    local flags=("${@//%d/${n}}")
    "${server}" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
      --ready-file "${dir}/ready-${n}" --log-level warn --max-tasks 2000000 "${flags[@]}" \
      >"${dir}/daemon-${n}.log" 2>&1 &
    daemon_pids+=($!)
  done
  for ((n = 1; n <= count; n++)); do
    pid="${daemon_pids[n - 1]}"
    for _ in $(seq 600); do
      [[ -s "${dir}/ready-${n}" ]] && break
      if ! kill -0 "${pid}" 2>/dev/null; then
        log "daemon ${n} exited before it was ready:"
        cat "${dir}/daemon-${n}.log" >&2
        return 1
      fi
      sleep 0.1
    done
    [[ -s "${dir}/ready-${n}" ]] || { log "daemon ${n}: no ready file after 60 s"; return 1; }
    daemon_addrs+=("$(head -n1 "${dir}/ready-${n}")")
    daemon_metrics+=("$(sed -n 's/^metrics=//p' "${dir}/ready-${n}")")
  done
}

# stop_daemons: SIGTERM to each (it drains), SIGKILL after 30 s.
stop_daemons() {
  local pid
  for pid in "${daemon_pids[@]}"; do
    kill -TERM "${pid}" 2>/dev/null || true
  done
  for pid in "${daemon_pids[@]}"; do
    for _ in $(seq 300); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done
  daemon_pids=()
}

# completed: tasks completed, summed over the running daemons.
completed() {
  local sum=0 address value
  for address in "${daemon_metrics[@]}"; do
    value="$(curl -fsS --max-time 5 "http://${address}/metrics" |
      sed -n 's/^corosched_tasks_finished_total{outcome="completed"} \([0-9.e+]*\)$/\1/p')"
    sum="$(awk -v a="${sum}" -v b="${value:-0}" 'BEGIN { printf "%.0f", a + b }')"
  done
  echo "${sum}"
}

# measure_corosched SIDE ROUND COUNT STORE: COUNT daemons on STORE (sqlite or pg), --tasks
# tasks through them; one JSON line in ${work}/SIDE-ROUND.json.
measure_corosched() {
  local side="$1" round="$2" count="$3" store="$4"
  local dir="${work}/${side}-${round}"
  local database="bench_${side}_${round}" url="" flags=() n
  mkdir -p "${dir}"
  if [[ "${store}" == pg ]]; then
    url="$(fresh_database "${database}")"
    flags=(--postgres-url "${url}")
  else
    flags=(--durability sync --data-dir "${dir}/data-%d")
  fi
  start_daemons "${count}" "${dir}" "${flags[@]}"

  local share=$(((tasks + count - 1) / count)) daemons_before=0 pg_before pg_after
  for n in "${daemon_pids[@]}"; do daemons_before=$((daemons_before + $(cpu_us "${n}"))); done
  pg_before="$(cpu_us "${PG_PID}" tree)"
  local start end loaders=()
  start="$(now_ns)"
  for ((n = 0; n < count; n++)); do
    "${loadgen}" --mode submit --target "${daemon_addrs[n]}" --max-calls "${share}" \
      --seconds 3600 --channels "${channels}" --inflight "${inflight}" \
      --server-pid "${daemon_pids[n]}" >"${dir}/loadgen-${n}.json" &
    loaders+=($!)
  done
  for n in "${loaders[@]}"; do wait "${n}"; done
  local want=$((share * count)) done_count=0
  for _ in $(seq 12000); do  # 10 minutes
    done_count="$(completed)"
    ((done_count >= want)) && break
    sleep 0.05
  done
  end="$(now_ns)"
  pg_after="$(cpu_us "${PG_PID}" tree)"
  local daemons_after=0
  for n in "${daemon_pids[@]}"; do daemons_after=$((daemons_after + $(cpu_us "${n}"))); done
  stop_daemons
  [[ -n "${url}" ]] && drop_database "${database}"
  rm -rf "${dir}"/data-*

  local errors
  errors="$(cat "${dir}"/loadgen-*.json | jq -s 'map(.errors) | add')"
  jq -n --arg side "${side}" --argjson round "${round}" --argjson daemons "${count}" \
    --arg store "${store}" --argjson tasks "${want}" --argjson completed "${done_count}" \
    --argjson ns "$((end - start))" --argjson daemon_us "$((daemons_after - daemons_before))" \
    --argjson pg_us "$((pg_after - pg_before))" --argjson errors "${errors}" \
    '{side: $side, round: $round, daemons: $daemons, store: $store, tasks: $tasks,
      completed: $completed, seconds: ($ns / 1e9), tasks_per_s: ($completed / ($ns / 1e9)),
      daemon_cpu_us_per_task: ($daemon_us / ([$completed, 1] | max)),
      pg_cpu_us_per_task: (if $store == "pg" then $pg_us / ([$completed, 1] | max) else null end),
      pg_cores: (if $store == "pg" then $pg_us / ($ns / 1e3) else null end),
      loadgen_errors: $errors}' >"${work}/${side}-${round}.json"
  if ((done_count < want)); then
    log "${side} round ${round}: only ${done_count} of ${want} tasks completed in 10 minutes"
    return 1
  fi
}

# measure_graphile ROUND: graphile-worker, the same job count, on a fresh database.
measure_graphile() {
  local round="$1" database="bench_graphile_$1" url
  url="$(fresh_database "${database}")"
  node "${repo_root}/bench/peers/graphile.mjs" --url "${url}" --server-pid "${PG_PID}" \
    --jobs "${tasks}" --concurrency "${concurrency}" --mode throughput \
    >"${work}/graphile-raw-${round}.out"
  drop_database "${database}"
  grep -v '^{' "${work}/graphile-raw-${round}.out" >&2 || true
  grep '^{' "${work}/graphile-raw-${round}.out" | head -n1 |
    jq --argjson round "${round}" '{side: "graphile", round: $round, daemons: null,
      store: "pg", tasks: .jobs, completed: .jobs, tasks_per_s: .jobs_per_s,
      daemon_cpu_us_per_task: .cpu_us_per_job.worker,
      producer_cpu_us_per_task: .cpu_us_per_job.producer,
      pg_cpu_us_per_task: .cpu_us_per_job.server, pg_cores: null, loadgen_errors: 0}' \
    >"${work}/graphile-${round}.json"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= rounds; round++)); do
  for side in "${sides[@]}"; do
    log "round ${round}/${rounds}: ${side}"
    case "${side}" in
      sqlite) measure_corosched sqlite "${round}" 1 sqlite ;;
      pg[123]) measure_corosched "${side}" "${round}" "${side#pg}" pg ;;
      graphile) measure_graphile "${round}" ;;
    esac
    cat "${work}/${side}-${round}.json" >&2
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "${tasks} tasks per measurement; corosched: ${channels} x ${inflight} submits in flight" \
  "per daemon; graphile-worker: concurrency ${concurrency}; $(nproc) CPUs; load average" \
  "${load_before} before, ${load_after} after."
echo
echo "| round | side | daemons | tasks/s | daemon (graphile: worker) CPU us/task | PostgreSQL CPU us/task | PostgreSQL cores busy (share of $(nproc)) | errors |"
echo "|---|---|---|---|---|---|---|---|"
jq -s -r --argjson cpus "$(nproc)" '
  def r(digits): . * digits | floor / digits;
  def order: .side as $s | ["sqlite", "pg1", "pg2", "pg3", "graphile"] | index($s);
  sort_by(.round, order)[]
  | (.pg_cores // (if .pg_cpu_us_per_task then .pg_cpu_us_per_task * .tasks_per_s / 1e6
                   else null end)) as $cores
  | "| \(.round) | \(.side) | \(.daemons // "-") | \(.tasks_per_s | floor) | \(.daemon_cpu_us_per_task | r(10)) | \(if .pg_cpu_us_per_task == null then "-" else (.pg_cpu_us_per_task | r(10)) end) | \(if $cores == null then "-" else "\($cores | r(100)) (\($cores / $cpus * 100 | floor)%)" end) | \(.loadgen_errors) |"' \
  "${work}"/*-[0-9]*.json

# Ratios of the best round of each side (highest tasks/s).
echo
jq -s -r '
  group_by(.side) | map({key: .[0].side, value: (map(.tasks_per_s) | max)}) | from_entries
  | . as $best
  | def ratio(a; b; target): if $best[a] and $best[b]
      then "| \(a) / \(b) | \($best[a] / $best[b] | . * 100 | floor / 100) | \(target) |"
      else empty end;
  "| ratio (best rounds) | value | target |", "|---|---|---|",
  ratio("pg1"; "sqlite"; ">= 0.5"), ratio("pg2"; "pg1"; "-"), ratio("pg3"; "pg1"; "-"),
  ratio("pg1"; "graphile"; ">= 3")' "${work}"/*-[0-9]*.json
