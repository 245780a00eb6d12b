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
# shellcheck source=tests/deploy/prometheus.sh
source "${here}/prometheus.sh"

readonly TASKS=20 YIELDS=200 MAX_P99_SECONDS=5
if [[ $# -ne 2 ]]; then
  sed -n '2,17p' "$0" >&2
  exit 2
fi
server="$1"
cli="$2"

ensure_prometheus
work="$(mktemp -d)"
trap 'stop_prometheus; stop_daemon; rm -rf "${work}"' EXIT

start_daemon "${server}" "${work}"
cat >"${work}/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: corosched
    static_configs:
      - targets: ["${DAEMON_METRICS}"]
YAML
start_prometheus "${work}/prometheus.yml" "${work}"
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
