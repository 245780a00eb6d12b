# shellcheck shell=bash
# Shared by the tests/deploy scripts that need a running daemon (sourced, not run):
# start one on free loopback ports, put some load on it with the CLI, scrape its
# /metrics, stop it. Every wait is bounded.
#
#   start_daemon SERVER DIR [FLAG...]   sets DAEMON_PID, DAEMON_ADDR, DAEMON_METRICS
#   spin_tasks CLI DIR COUNT YIELDS     COUNT tasks of YIELDS yields each
#   queue_work CLI DIR                  work items on queue `jobs`, one cancelled
#   scrape_metrics > file.prom
#   stop_daemon                         from the caller's EXIT trap

DAEMON_EXAMPLES="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../examples" && pwd)"
DAEMON_PID=""
DAEMON_ADDR=""
DAEMON_METRICS=""

# start_daemon SERVER DIR [FLAG...]: corosched-server with its ready file, log and
# data directory in DIR, gRPC and /metrics on free loopback ports.
start_daemon() {
  local server="$1" dir="$2"
  shift 2
  "${server}" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --ready-file "${dir}/ready" --data-dir "${dir}/data" --log-level warn "$@" \
    2>"${dir}/daemon.log" &
  DAEMON_PID=$!
  local _
  for _ in $(seq 300); do  # 30 s
    if [[ -s "${dir}/ready" ]]; then  # written whole, then renamed into place
      DAEMON_ADDR="$(head -n1 "${dir}/ready")"
      DAEMON_METRICS="$(sed -n 's/^metrics=//p' "${dir}/ready")"
      if [[ -z "${DAEMON_METRICS}" ]]; then
        echo "FAIL: the ready file has no metrics= line:" >&2
        cat "${dir}/ready" >&2
        return 1
      fi
      return 0
    fi
    if ! kill -0 "${DAEMON_PID}" 2>/dev/null; then
      echo "FAIL: corosched-server exited before it was ready:" >&2
      cat "${dir}/daemon.log" >&2
      DAEMON_PID=""
      return 1
    fi
    sleep 0.1
  done
  echo "FAIL: corosched-server was not ready after 30 s:" >&2
  cat "${dir}/daemon.log" >&2
  return 1
}

# stop_daemon: SIGTERM (the daemon drains), SIGKILL after 10 s.
stop_daemon() {
  [[ -n "${DAEMON_PID}" ]] || return 0
  kill -TERM "${DAEMON_PID}" 2>/dev/null || true
  local _
  for _ in $(seq 100); do
    kill -0 "${DAEMON_PID}" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "${DAEMON_PID}" 2>/dev/null || true
  wait "${DAEMON_PID}" 2>/dev/null || true
  DAEMON_PID=""
}

# spin_tasks CLI DIR COUNT YIELDS: submits COUNT tasks that each yield YIELDS times
# (self-wakes, so the schedule-delay histogram gets samples), one CLI call each.
spin_tasks() {
  local cli="$1" dir="$2" count="$3" yields="$4" i
  cat >"${dir}/spin.json" <<'JSON'
{"name": "spin", "initial": "CHECK", "states": {
  "CHECK": {"choice": {"when": [{"variable": "n", "greaterThan": {"number": 0},
                                 "next": "STEP"}],
                       "otherwise": "END"}},
  "STEP": {"actions": [{"add": {"variable": "n", "amount": -1}}],
           "yield": {"next": "CHECK"}},
  "END": {"complete": {}}}}
JSON
  for ((i = 0; i < count; ++i)); do
    "${cli}" --addr "${DAEMON_ADDR}" --timeout 10s submit -f "${dir}/spin.json" \
      --var "n=${yields}" >/dev/null
  done
}

# queue_work CLI DIR: submits examples/worker-callback.json twice, so two items wait on
# work queue `jobs` (no worker takes them), and cancels the first, so one attempt ends:
# the corosched_work_* families then have series for queue `jobs`.
queue_work() {
  local cli="$1" dir="$2" first
  first="$("${cli}" --addr "${DAEMON_ADDR}" --timeout 10s submit \
    -f "${DAEMON_EXAMPLES}/worker-callback.json" --var job=first)"
  "${cli}" --addr "${DAEMON_ADDR}" --timeout 10s submit \
    -f "${DAEMON_EXAMPLES}/worker-callback.json" --var job=second >/dev/null
  "${cli}" --addr "${DAEMON_ADDR}" --timeout 10s cancel "${first%%[[:space:]]*}" \
    >"${dir}/cancel.out"
}

# scrape_metrics: the daemon's /metrics text on stdout.
scrape_metrics() {
  curl -fsS --max-time 10 "http://${DAEMON_METRICS}/metrics"
}
