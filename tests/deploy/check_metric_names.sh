#!/usr/bin/env bash
# Checks that /metrics is well-formed (promtool check metrics) and that every metric the
# alert rules and the Grafana dashboard use is in it (metric_names.py).
#
#   check_metric_names.sh [--daemon SERVER --cli CLI] [--url URL]... [--exposition FILE]...
#                         [--uses FILE]...
#
#   --daemon SERVER --cli CLI   start corosched-server SERVER on free loopback ports, submit
#                               a few tasks with the corosched CLI, then scrape it (ctest)
#   --url URL                   a running daemon, e.g. http://127.0.0.1:9464/metrics
#   --exposition FILE           a saved /metrics text
#   --uses FILE                 default: deploy/prometheus/alerts.yml and
#                               deploy/grafana/dashboards/corosched.json
# The union of the expositions must provide every name used. Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"
# shellcheck source=tests/deploy/daemon.sh
source "${here}/daemon.sh"

usage() {
  sed -n '2,15p' "$0" >&2
  exit 2
}

work="$(mktemp -d)"
trap 'stop_daemon; rm -rf "${work}"' EXIT
expositions=()
uses=()
server=""
cli=""
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || usage
  out="${work}/exposition-${#expositions[@]}.prom"
  case "$1" in
    --daemon) server="$2" && shift 2 && continue ;;
    --cli) cli="$2" && shift 2 && continue ;;
    --uses) uses+=("$2") && shift 2 && continue ;;
    --exposition) cp "$2" "${out}" ;;
    --url) curl -fsS --max-time 10 "$2" >"${out}" ;;
    *) usage ;;
  esac
  expositions+=("${out}")
  shift 2
done
if [[ -n "${server}" ]]; then
  [[ -n "${cli}" ]] || usage
  start_daemon "${server}" "${work}"
  # Calls and tasks, so the series that appear with the first of them exist too.
  spin_tasks "${cli}" "${work}" 3 5
  queue_work "${cli}" "${work}"
  scrape_metrics >"${work}/daemon.prom"
  expositions+=("${work}/daemon.prom")
fi
[[ ${#expositions[@]} -gt 0 ]] || usage
if [[ ${#uses[@]} -eq 0 ]]; then
  uses=(deploy/prometheus/alerts.yml deploy/grafana/dashboards/corosched.json)
fi

ensure_command promtool prometheus
for exposition in "${expositions[@]}"; do
  # promtool reads stdin; it fails on malformed text and on convention breaks (a counter
  # without _total, a non-base unit).
  promtool check metrics <"${exposition}"
done

args=()
for exposition in "${expositions[@]}"; do args+=(--exposition "${exposition}"); done
for file in "${uses[@]}"; do args+=(--uses "${file}"); done
python3 "${here}/metric_names.py" "${args[@]}"
