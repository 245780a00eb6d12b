#!/usr/bin/env bash
# The compose cluster profile's front without Docker: Debian's nginx (installed if
# missing) runs deploy/nginx/corosched-front.conf in front of three real daemons that
# run with the stack's credentials (deploy/dev-certs.sh) and TLS and token settings, and:
#   - health answers through the front over TLS (the front's certificate checks against
#     the stack's CA), and a plaintext client gets no answer;
#   - a call without the token is refused UNAUTHENTICATED by a daemon behind the front
#     (the front authenticates nobody; the daemons still do);
#   - 12 submits with the token, one CLI call each, reach every one of the three daemons
#     (each daemon's corosched_tasks_submitted_total, over its own /metrics).
# The daemons each keep their own SQLite store here: this checks the front (TLS on both
# sides, headers passed, calls spread), not the shared store.
#
#   front_e2e.sh SERVER CLI
#
# Only addresses and paths differ from the stack: the daemons' names in the upstream
# become 127.0.0.1 and their free ports, the secrets' directory a temporary one.
# Everything stops however the script ends. Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"
# shellcheck source=tests/deploy/daemon.sh
source "${here}/daemon.sh"

if [[ $# -ne 2 ]]; then
  sed -n '2,18p' "$0" >&2
  exit 2
fi
server="$1"
cli="$2"
readonly SECRETS_IN_STACK=/etc/corosched/secrets SUBMITS=12

ensure_command openssl openssl
ensure_command nginx nginx-light
work="$(mktemp -d)"
daemon_pids=()
nginx_pid=""
cleanup() {
  if [[ -n "${nginx_pid}" ]]; then
    kill -TERM "${nginx_pid}" 2>/dev/null || true
    wait "${nginx_pid}" 2>/dev/null || true
  fi
  local pid
  for pid in "${daemon_pids[@]}"; do
    DAEMON_PID="${pid}"
    stop_daemon
  done
  rm -rf "${work}"
}
trap cleanup EXIT
secrets="${work}/secrets"
deploy/dev-certs.sh "${secrets}" corosched localhost >/dev/null

# The settings of the stack's daemons (docker-compose.yml), with this test's secrets.
export COROSCHED_TLS_CERT="${secrets}/server.pem" COROSCHED_TLS_KEY="${secrets}/server.key"
export COROSCHED_AUTH_TOKENS="${secrets}/tokens.json" COROSCHED_TLS_CA="${secrets}/ca.pem"
export COROSCHED_TOKEN_FILE="${secrets}/token" COROSCHED_REFLECTION=false

addresses=()
metrics=()
for n in 1 2 3; do
  mkdir -p "${work}/d${n}"
  start_daemon "${server}" "${work}/d${n}"
  daemon_pids+=("${DAEMON_PID}")
  addresses+=("${DAEMON_ADDR}")
  metrics+=("${DAEMON_METRICS}")
done

front_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
health_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 - deploy/nginx/corosched-front.conf "${SECRETS_IN_STACK}" "${secrets}" \
  "${front_port}" "${health_port}" "${addresses[@]}" >"${work}/front.conf" <<'PY'
import re, sys
path, old, new, front, health, *daemons = sys.argv[1:]
text = open(path, encoding="utf-8").read().replace(old, new)
for n, address in enumerate(daemons, 1):
    text, count = re.subn(rf"\bcorosched-{n}:50051\b", address, text)
    assert count == 1, f"corosched-{n}:50051 is not in the upstream once"
text, count = re.subn(r"listen 50051 ssl", f"listen 127.0.0.1:{front} ssl", text)
assert count == 1, "no `listen 50051 ssl`"
text, count = re.subn(r"listen 127\.0\.0\.1:8080;", f"listen 127.0.0.1:{health};", text)
assert count == 1, "no health listener on 127.0.0.1:8080"
print(text)
PY
nginx -t -q -c "${work}/front.conf" -p "${work}" -g "pid ${work}/nginx.pid;"
nginx -c "${work}/front.conf" -p "${work}" -g "pid ${work}/nginx.pid; daemon off;" \
  2>"${work}/nginx.log" &
nginx_pid=$!
front="127.0.0.1:${front_port}"
for _ in $(seq 100); do
  curl -fsS --max-time 1 "http://127.0.0.1:${health_port}/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "${nginx_pid}" 2>/dev/null; then
    echo "FAIL: nginx exited:" >&2
    cat "${work}/nginx.log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "front ${front} -> daemons ${addresses[*]}"

"${cli}" --addr "${front}" health --timeout 5s
if env -u COROSCHED_TLS_CA "${cli}" --addr "${front}" health --timeout 3s >/dev/null 2>&1; then
  echo "FAIL: a plaintext client got an answer from the front" >&2
  exit 1
fi
echo "OK: health through the front over TLS; none in plaintext"

if env -u COROSCHED_TOKEN_FILE "${cli}" --addr "${front}" stats \
  >"${work}/no-token.out" 2>"${work}/no-token.err"; then
  echo "FAIL: stats through the front without a token succeeded" >&2
  exit 1
fi
if ! grep -qi "unauthenticated" "${work}/no-token.err"; then
  echo "FAIL: stats through the front without a token was not refused as unauthenticated:" >&2
  cat "${work}/no-token.err" >&2
  exit 1
fi
echo "OK: without the token, the daemon behind the front answers unauthenticated"

for ((i = 0; i < SUBMITS; ++i)); do
  "${cli}" --addr "${front}" --timeout 10s submit -f "${DAEMON_EXAMPLES}/hello.json" >/dev/null
done
counts=()
for n in 0 1 2; do
  count="$(curl -fsS --max-time 5 "http://${metrics[n]}/metrics" |
    sed -n 's/^corosched_tasks_submitted_total \([0-9.e+]*\)$/\1/p')"
  counts+=("${count:-0}")
done
echo "submits through the front per daemon: ${counts[*]} (of ${SUBMITS})"
for count in "${counts[@]}"; do
  if ! python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1 else 1)' "${count}"; then
    echo "FAIL: a daemon behind the front got none of the ${SUBMITS} submits" >&2
    exit 1
  fi
done
echo "OK: the front spread the submits over all three daemons"
