#!/usr/bin/env bash
# Checks a live daemon's /metrics: Debian's promtool (installed if missing) must accept it
# (`promtool check metrics`: the text format and Prometheus' naming lint), and
# exposition_rules.py checks what promtool does not (every metric we document, the
# corosched_ prefix, the latency buckets, no task ids in labels).
#
#   check_exposition.sh SERVER CLI
#   e.g. check_exposition.sh build/server/corosched-server build/client/cli/corosched
#
# Starts SERVER on free loopback ports, submits a few tasks with the CLI, scrapes it and
# stops it. Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"
# shellcheck source=tests/deploy/daemon.sh
source "${here}/daemon.sh"

if [[ $# -ne 2 ]]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
ensure_command promtool prometheus

work="$(mktemp -d)"
trap 'stop_daemon; rm -rf "${work}"' EXIT
start_daemon "$1" "${work}"
spin_tasks "$2" "${work}" 3 5
queue_work "$2" "${work}"
scrape_metrics >"${work}/daemon.prom"

promtool check metrics <"${work}/daemon.prom"
echo "OK: promtool check metrics accepts the daemon's /metrics" \
  "($(grep -c '^# TYPE' "${work}/daemon.prom") families)"
python3 "${here}/exposition_rules.py" "${work}/daemon.prom"
