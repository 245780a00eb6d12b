#!/usr/bin/env bash
# Runs the peer job queues on loopback and prints a markdown table: graphile-worker on
# PostgreSQL and BullMQ on Redis, each working no-op jobs through its own worker process
# with the same job count and concurrency, alternated round by round (graphile, bullmq,
# [corosched], graphile, bullmq, ...). The table holds each side's best round (highest
# jobs/s; lowest p99) with that round's CPU per job of producer, worker and server.
#
# Usage: bench/peers/run.sh [options]
#   --jobs N            jobs per throughput measurement (default 10000)
#   --concurrency C     worker concurrency (default 16)
#   --rounds R          rounds; each runs every side once (default 3)
#   --rate R            offered rate of the latency measurement, jobs/s (default 500)
#   --seconds S         length of the latency measurement (default 5)
#   --batch B           jobs per bulk enqueue call (default 500)
#   --warmup N          unreported warm-up jobs per run (default 200)
#   --redis-fsync M     Redis appendfsync: everysec (default) or always
#   --corosched-cmd CMD also run our side: CMD (through bash -c) must print the same JSON
#                       lines; see "Third side" below for what it is given
#   --keep DIR          also write the raw JSON lines to DIR/results.jsonl
#   --check             fail unless every line has the shape and each side has both modes
#
# Durable settings: PostgreSQL fsync=on synchronous_commit=on (tests/testing/postgres.sh);
# Redis appendonly yes, appendfsync everysec or always (tests/testing/redis.sh).
# Both servers are private, on free loopback ports, and stopped (their directories
# removed) when this script exits. `npm ci` runs in bench/peers when node_modules is
# missing or older than package-lock.json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${here}/../.." && pwd)"

jobs=10000
concurrency=16
rounds=3
rate=500
seconds=5
batch=500
warmup=200
redis_fsync=everysec
corosched_cmd=""
keep_dir=""
check=0

while (($#)); do
  case "$1" in
    --jobs) jobs="${2:?--jobs needs a number}"; shift ;;
    --concurrency) concurrency="${2:?--concurrency needs a number}"; shift ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --rate) rate="${2:?--rate needs a number}"; shift ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift ;;
    --batch) batch="${2:?--batch needs a number}"; shift ;;
    --warmup) warmup="${2:?--warmup needs a number}"; shift ;;
    --redis-fsync) redis_fsync="${2:?--redis-fsync needs everysec or always}"; shift ;;
    --corosched-cmd) corosched_cmd="${2:?--corosched-cmd needs a command}"; shift ;;
    --keep) keep_dir="${2:?--keep needs a directory}"; shift ;;
    --check) check=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

for cmd in node npm python3; do
  if ! command -v "${cmd}" >/dev/null 2>&1; then
    echo "run.sh: ${cmd} is missing: run deploy/install-deps.sh bench" >&2
    exit 1
  fi
done

# shellcheck source=tests/testing/postgres.sh
source "${repo_root}/tests/testing/postgres.sh"
# shellcheck source=tests/testing/redis.sh
source "${repo_root}/tests/testing/redis.sh"

out_dir="$(mktemp -d "${TMPDIR:-/tmp}/corosched-peers-XXXXXX")"
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  pg_stop
  redis_stop
  rm -rf "${out_dir}"
}
# Each helper sets its own EXIT trap; this one stops both servers.
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -f "${here}/node_modules/.package-lock.json" ||
  "${here}/package-lock.json" -nt "${here}/node_modules/.package-lock.json" ]]; then
  echo "run.sh: npm ci in bench/peers" >&2
  (cd "${here}" && npm ci --no-audit --no-fund >&2)
fi

pg_start
trap cleanup EXIT
redis_start "${redis_fsync}"
trap cleanup EXIT

results="${out_dir}/results.jsonl"
: >"${results}"
common=(--jobs "${jobs}" --concurrency "${concurrency}" --rate "${rate}" --seconds "${seconds}"
  --batch "${batch}" --warmup "${warmup}")
sides=(graphile-worker bullmq)

# ---- Third side: corosched --------------------------------------------------------
# Our side joins the rotation when --corosched-cmd is given. The command runs through
# `bash -c` from the repository root, once per round, with these in its environment:
#   PG_URL PG_PID REDIS_URL REDIS_PID           the servers (use what it needs)
#   BENCH_JOBS BENCH_CONCURRENCY BENCH_RATE BENCH_SECONDS BENCH_BATCH BENCH_WARMUP
# and must print, on stdout, one JSON line per measurement in the shape the peers print:
#   {"peer":"corosched","mode":"throughput"|"latency","jobs":N,"concurrency":C,
#    "jobs_per_s":X,"p50_us":X|null,"p99_us":X|null,
#    "cpu_us_per_job":{"producer":X,"worker":X,"server":X},"durable":"..."}
# Lines that do not start with "{" are passed to stderr.
run_corosched() {
  PG_URL="${PG_URL}" PG_PID="${PG_PID}" REDIS_URL="${REDIS_URL}" REDIS_PID="${REDIS_PID}" \
    BENCH_JOBS="${jobs}" BENCH_CONCURRENCY="${concurrency}" BENCH_RATE="${rate}" \
    BENCH_SECONDS="${seconds}" BENCH_BATCH="${batch}" BENCH_WARMUP="${warmup}" \
    bash -c "cd '${repo_root}' && ${corosched_cmd}"
}
if [[ -n "${corosched_cmd}" ]]; then
  sides+=(corosched)
else
  echo "run.sh: corosched side skipped (give --corosched-cmd CMD to add it)" >&2
fi
# ------------------------------------------------------------------------------------

run_side() {
  case "$1" in
    graphile-worker)
      node "${here}/graphile.mjs" --url "${PG_URL}" --server-pid "${PG_PID}" "${common[@]}"
      ;;
    bullmq)
      node "${here}/bullmq.mjs" --url "${REDIS_URL}" --server-pid "${REDIS_PID}" "${common[@]}" \
        --durable "${REDIS_DURABLE}"
      ;;
    corosched) run_corosched ;;
  esac
}

for ((round = 1; round <= rounds; round++)); do
  for side in "${sides[@]}"; do
    echo "run.sh: round ${round}/${rounds}: ${side}" >&2
    if ! run_side "${side}" >"${out_dir}/side.out"; then
      echo "run.sh: ${side} failed in round ${round}" >&2
      exit 1
    fi
    grep '^{' "${out_dir}/side.out" | tee -a "${results}" || true
    grep -v '^{' "${out_dir}/side.out" >&2 || true
  done
done

echo
echo "Loopback, ${jobs} jobs per throughput run, concurrency ${concurrency}, ${rounds} round(s);" \
  "latency: open loop at ${rate} jobs/s for ${seconds} s; $(nproc) CPUs."
echo
check_args=()
if [[ "${check}" -eq 1 ]]; then
  check_args=(--check)
fi
status=0
node "${here}/table.mjs" "${check_args[@]}" "${results}" "${sides[@]}" || status=$?

if [[ -n "${keep_dir}" ]]; then
  mkdir -p "${keep_dir}"
  cp "${results}" "${keep_dir}/results.jsonl"
fi
exit "${status}"
