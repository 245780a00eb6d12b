#!/usr/bin/env bash
# Checks that /metrics is well-formed (promtool check metrics) and that every metric the
# alert rules and the Grafana dashboard use is in it (metric_names.py).
#
#   check_metric_names.sh [--exposition FILE]... [--exposition-command CMD]...
#                         [--url URL]... [--uses FILE]...
#
#   --exposition FILE          a saved /metrics text
#   --exposition-command CMD   a program that prints one (tests: executor_exposition)
#   --url URL                  a live daemon, e.g. http://127.0.0.1:9464/metrics
#   --uses FILE                default: deploy/prometheus/alerts.yml and
#                              deploy/grafana/dashboards/corosched.json
# The union of the expositions must provide every name used. Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"

usage() {
  sed -n '2,13p' "$0" >&2
  exit 2
}

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
expositions=()
uses=()
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || usage
  out="${work}/exposition-${#expositions[@]}.prom"
  case "$1" in
    --exposition) cp "$2" "${out}" ;;
    --exposition-command) "$2" >"${out}" ;;
    --url) curl -fsS --max-time 10 "$2" >"${out}" ;;
    --uses) uses+=("$2") && shift 2 && continue ;;
    *) usage ;;
  esac
  expositions+=("${out}")
  shift 2
done
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
