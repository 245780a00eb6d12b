# shellcheck shell=bash
# A real Prometheus for the tests/deploy scripts (sourced, not run): Debian's `prometheus`
# (installed with deploy/install-deps.sh test when missing; exit 77 when impossible) on a
# free loopback port with a temporary configuration and storage, and its query API. Every
# wait is bounded.
#
#   ensure_prometheus
#   start_prometheus CONFIG DIR    sets prometheus_url, prometheus_pid (storage in DIR)
#   query EXPR                     the value of EXPR's single sample, or ""
#   wait_for EXPR CONDITION        polls until CONDITION (Python, on v) holds, or 30 s
#   stop_prometheus                from the caller's EXIT trap

prometheus_pid=""
prometheus_url=""

ensure_prometheus() {
  command -v prometheus >/dev/null 2>&1 && return 0
  if [[ "$(id -u)" -ne 0 ]] && ! sudo -n true 2>/dev/null; then
    echo "SKIP: needs Debian's prometheus (deploy/install-deps.sh test, as root)" >&2
    exit 77
  fi
  deploy/install-deps.sh test >&2
}

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

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_prometheus CONFIG DIR: on a free port (tried three times: another process may take
# the port between free_port and Prometheus binding it).
start_prometheus() {
  local config="$1" dir="$2" attempt _
  for attempt in 1 2 3; do
    local port
    port="$(free_port)"
    prometheus_url="http://127.0.0.1:${port}"
    prometheus --config.file="${config}" \
      --storage.tsdb.path="${dir}/tsdb-${attempt}" \
      --web.listen-address="127.0.0.1:${port}" --log.level=warn \
      2>"${dir}/prometheus.log" &
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
  cat "${dir}/prometheus.log" >&2
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

