#!/usr/bin/env bash
# Checks deploy/prometheus with Debian's promtool (installed if missing):
#   - prometheus.yml and prometheus-cluster.yml (the compose cluster profile's) are valid
#     configurations, and the rule files they name exist and parse;
#   - alerts.yml is valid;
#   - the alerts fire, and stay quiet, as tests/deploy/alerts_test.yml says they should;
#   - the Grafana dashboard is well-formed and every query in it is valid PromQL.
# Run from the repository root (ctest does).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"

ensure_command promtool prometheus

promtool check config deploy/prometheus/prometheus.yml
promtool check config deploy/prometheus/prometheus-cluster.yml
promtool check rules deploy/prometheus/alerts.yml
promtool test rules "${here}/alerts_test.yml"

# The dashboard's queries must parse too: dashboard_rules.py turns them into recording
# rules (after checking the dashboard's structure) for promtool to parse.
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
python3 "${here}/dashboard_rules.py" deploy/grafana/dashboards/corosched.json \
  >"${work}/dashboard-rules.json"
promtool check rules "${work}/dashboard-rules.json"
