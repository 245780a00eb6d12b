#!/usr/bin/env bash
# A private Redis server on loopback, for tests and benchmarks.
#
# As a library (bash):
#   source tests/testing/redis.sh
#   redis_start [everysec|always]   # installs Debian's redis-server if missing, starts it
#   echo "$REDIS_URL"               # redis://127.0.0.1:PORT
#   redis_stop                      # stops it and removes its directory (also on EXIT)
#
# As a command:
#   tests/testing/redis.sh [--fsync everysec|always] [CMD ARGS...]
#     with CMD: starts a server, exports REDIS_URL (and REDIS_*), runs CMD, stops it
#     without:  starts a server, prints REDIS_URL and REDIS_PID, waits for Ctrl-C / SIGTERM
#
# Durability: appendonly yes with appendfsync everysec by default (BullMQ's common
# production setting: an acknowledged write can be lost for up to about one second on
# power failure or kernel crash), or appendfsync always (fsync before each reply).
# RDB snapshots are off (save ""), so the append-only file is the only persistence.
#
# Variables set by redis_start: REDIS_URL REDIS_HOST REDIS_PORT REDIS_DIR REDIS_PID
# REDIS_FSYNC REDIS_DURABLE (a one-line statement of the settings).

_redis_log() { echo "redis.sh: $*" >&2; }

redis_install() {
  if command -v redis-server >/dev/null 2>&1; then
    return 0
  fi
  _redis_log "installing Debian's redis-server"
  # install-deps.sh: as root or through sudo, and without starting the system service.
  "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/deploy/install-deps.sh" redis
}

_redis_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

redis_start() {
  local fsync="${1:-${REDIS_FSYNC:-everysec}}"
  case "${fsync}" in
    everysec | always) ;;
    *)
      _redis_log "appendfsync must be everysec or always, not '${fsync}'"
      return 2
      ;;
  esac
  if [[ -n "${REDIS_PID:-}" ]] && kill -0 "${REDIS_PID}" 2>/dev/null; then
    _redis_log "already running (pid ${REDIS_PID})"
    return 0
  fi
  redis_install || return 1
  REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/corosched-redis-XXXXXX")"
  REDIS_HOST=127.0.0.1
  REDIS_FSYNC="${fsync}"
  trap redis_stop EXIT

  local attempt _
  for attempt in 1 2 3; do
    REDIS_PORT="$(_redis_free_port)"
    cat >"${REDIS_DIR}/redis.conf" <<EOF
bind 127.0.0.1
port ${REDIS_PORT}
protected-mode yes
daemonize no
dir ${REDIS_DIR}
pidfile ${REDIS_DIR}/redis.pid
logfile ${REDIS_DIR}/redis.log
save ""
appendonly yes
appendfsync ${REDIS_FSYNC}
maxmemory-policy noeviction
EOF
    redis-server "${REDIS_DIR}/redis.conf" &
    REDIS_PID=$!
    for _ in $(seq 1 100); do
      if redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" ping 2>/dev/null | grep -q PONG; then
        break 2
      fi
      kill -0 "${REDIS_PID}" 2>/dev/null || break
      sleep 0.1
    done
    _redis_log "start on port ${REDIS_PORT} failed (attempt ${attempt}):"
    tail -n 5 "${REDIS_DIR}/redis.log" >&2 || true
    kill "${REDIS_PID}" 2>/dev/null || true
    wait "${REDIS_PID}" 2>/dev/null || true
    REDIS_PID=""
  done
  if [[ -z "${REDIS_PID}" ]]; then
    return 1
  fi
  REDIS_URL="redis://${REDIS_HOST}:${REDIS_PORT}"
  REDIS_DURABLE="redis appendonly=yes appendfsync=${REDIS_FSYNC}"
  export REDIS_URL REDIS_HOST REDIS_PORT REDIS_DIR REDIS_PID REDIS_FSYNC REDIS_DURABLE
  _redis_log "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) at ${REDIS_URL} (pid ${REDIS_PID}, appendonly yes, appendfsync ${REDIS_FSYNC})"
}

# Stops the server (SHUTDOWN NOSAVE, then SIGTERM) and removes its directory.
redis_stop() {
  if [[ -n "${REDIS_PID:-}" ]] && kill -0 "${REDIS_PID}" 2>/dev/null; then
    redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" shutdown nosave >/dev/null 2>&1 ||
      kill "${REDIS_PID}" 2>/dev/null || true
    local _
    for _ in $(seq 1 50); do
      kill -0 "${REDIS_PID}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${REDIS_PID}" 2>/dev/null || true
    wait "${REDIS_PID}" 2>/dev/null || true
  fi
  if [[ -n "${REDIS_DIR:-}" && -d "${REDIS_DIR}" ]]; then
    rm -rf "${REDIS_DIR}"
  fi
  unset REDIS_URL REDIS_PID REDIS_DIR
}

if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
  set -euo pipefail
  fsync_arg=everysec
  if [[ "${1:-}" == "--fsync" ]]; then
    fsync_arg="${2:?--fsync needs everysec or always}"
    shift 2
  fi
  # A signal during the start must not leave a server behind.
  trap 'redis_stop; exit 143' INT TERM
  redis_start "${fsync_arg}"
  if [[ $# -gt 0 ]]; then
    set +e
    "$@"
    rc=$?
    redis_stop
    exit "${rc}"
  fi
  echo "REDIS_URL=${REDIS_URL}"
  echo "REDIS_PID=${REDIS_PID}"
  while kill -0 "${REDIS_PID}" 2>/dev/null; do sleep 1; done
  _redis_log "server exited"
  redis_stop
fi
