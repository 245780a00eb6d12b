#!/usr/bin/env bash
# End to end with a real Prometheus: Debian's `prometheus` scrapes a live corosched-server
# while it runs tasks, and the answers of Prometheus' HTTP query API must be plausible:
#   - corosched_run_queue_depth is a number >= 0;
#   - corosched_tasks_submitted_total and the completed counter reach what was submitted;
#   - histogram_quantile(0.99, ...corosched_schedule_delay_seconds_bucket...) is finite,
#     above 0 and below MAX_P99_SECONDS;
#   - with two work items queued and one of them cancelled (queue_work), work queue `jobs`
#     has depth 1, an oldest item older than 0 s, and one cancelled attempt.
#
#   prometheus_e2e.sh SERVER CLI
#   e.g. prometheus_e2e.sh build/server/corosched-server build/client/cli/corosched
#
# The prometheus package is installed with deploy/install-deps.sh (group `test`) when
# missing; exit 77 (ctest: Skipped) if that is impossible (not root, no sudo). Prometheus
# runs on a free loopback port with a temporary configuration (1 s scrapes) and storage
# directory, and is stopped, like the daemon, however the script ends. Every wait is
# bounded; the whole test takes about 15 s. Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/daemon.sh
source "${here}/daemon.sh"

readonly TASKS=20 YIELDS=200 MAX_P99_SECONDS=5
if [[ $# -ne 2 ]]; then
  sed -n '2,17p' "$0" >&2
  exit 2
fi
server="$1"
cli="$2"

if ! command -v prometheus >/dev/null 2>&1; then
  if [[ "$(id -u)" -ne 0 ]] && ! sudo -n true 2>/dev/null; then
    echo "SKIP: needs Debian's prometheus (deploy/install-deps.sh test, as root)" >&2
    exit 77
  fi
  deploy/install-deps.sh test >&2
fi

work="$(mktemp -d)"
prometheus_pid=""
stop_prometheus() {
  [[ -n "${prometheus_pid}" ]] || return 0
  kill -TERM "${prometheus_pid}" 2>/dev/null || true
  local _
  for _ in $(seq 100); do
    kill -0 "${prometheus_pid}" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "${prometheus_pid}" 2>/dev/null || true
  wait "${prometheus_pid}" 2>/dev/null || true
  prometheus_pid=""
}
trap 'stop_prometheus; stop_daemon; rm -rf "${work}"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_prometheus: on a free port (tried three times: another process may take the port
# between free_port and Prometheus binding it); sets prometheus_url.
start_prometheus() {
  cat >"${work}/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: corosched
    static_configs:
      - targets: ["${DAEMON_METRICS}"]
YAML
  local attempt _
  for attempt in 1 2 3; do
    local port
    port="$(free_port)"
    prometheus_url="http://127.0.0.1:${port}"
    prometheus --config.file="${work}/prometheus.yml" \
      --storage.tsdb.path="${work}/tsdb-${attempt}" \
      --web.listen-address="127.0.0.1:${port}" --log.level=warn \
      2>"${work}/prometheus.log" &
    prometheus_pid=$!
    for _ in $(seq 200); do  # 20 s
      if curl -fsS --max-time 2 "${prometheus_url}/-/ready" >/dev/null 2>&1; then
        return 0
      fi
      kill -0 "${prometheus_pid}" 2>/dev/null || break
      sleep 0.1
    done
    stop_prometheus
  done
  echo "FAIL: Prometheus did not become ready:" >&2
  cat "${work}/prometheus.log" >&2
  return 1
}

# query EXPR: the value of EXPR's single sample ("" when there is none yet).
query() {
  curl -fsS --max-time 5 -G "${prometheus_url}/api/v1/query" \
    --data-urlencode "query=$1" |
    python3 -c 'import json, sys
answer = json.load(sys.stdin)
assert answer["status"] == "success", answer
result = answer["data"]["result"]
print(result[0]["value"][1] if len(result) == 1 else "")'
}

# wait_for EXPR CONDITION: polls EXPR until its value satisfies the Python expression
# CONDITION (on v, a float) or 30 s pass; prints the last value.
wait_for() {
  local value="" _
  for _ in $(seq 60); do
    value="$(query "$1")"
    if [[ -n "${value}" ]] &&
      python3 -c "import math, sys; v = float(sys.argv[1]); sys.exit(0 if ($2) else 1)" \
        "${value}"; then
      echo "${value}"
      return 0
    fi
    sleep 0.5
  done
  echo "FAIL: ${1} = '${value}' after 30 s; expected ${2}" >&2
  return 1
}

start_daemon "${server}" "${work}"
start_prometheus
echo "corosched-server: gRPC ${DAEMON_ADDR}, metrics ${DAEMON_METRICS}; Prometheus ${prometheus_url}"

# Scraped at least once before the load, so rate() sees the histogram grow.
wait_for 'up{job="corosched"}' 'v == 1' >/dev/null
spin_tasks "${cli}" "${work}" "${TASKS}" "${YIELDS}"
queue_work "${cli}" "${work}"

depth="$(wait_for 'corosched_run_queue_depth{job="corosched"}' 'v >= 0 and v == int(v)')"
submitted="$(wait_for 'corosched_tasks_submitted_total{job="corosched"}' "v >= ${TASKS}")"
completed="$(wait_for 'corosched_tasks_finished_total{job="corosched",outcome="completed"}' \
  "v >= ${TASKS}")"
p99="$(wait_for 'histogram_quantile(0.99, sum by (le) (rate(corosched_schedule_delay_seconds_bucket{job="corosched"}[1m])))' \
  "math.isfinite(v) and 0 < v < ${MAX_P99_SECONDS}")"
work_depth="$(wait_for 'corosched_work_queue_depth{job="corosched",queue="jobs"}' 'v == 1')"
work_age="$(wait_for 'corosched_work_oldest_item_age_seconds{job="corosched",queue="jobs"}' \
  'v > 0')"
wait_for 'corosched_work_attempts_total{job="corosched",queue="jobs",outcome="cancelled"}' \
  'v == 1' >/dev/null
echo "OK: via Prometheus: work queue jobs holds ${work_depth} item, the oldest" \
  "${work_age} s old, and one cancelled attempt"
echo "OK: via Prometheus: run queue depth ${depth}, submitted ${submitted} (sent ${TASKS})," \
  "completed ${completed}, schedule delay p99 ${p99} s"
