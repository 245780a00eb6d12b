#!/usr/bin/env bash
# A private PostgreSQL server on loopback, for tests and benchmarks.
#
# As a library (bash):
#   source tests/testing/postgres.sh
#   pg_start            # installs Debian's postgresql if missing, starts a private server
#   echo "$PG_URL"      # postgresql://USER@127.0.0.1:PORT/DB
#   ...
#   pg_stop             # stops it and removes its directory (also run on EXIT)
#
#   pg_server_stop      # stops the running server, keeping its data (a restart test)
#   pg_server_start     # starts it again, with the same data, port and options
#
# As a command:
#   tests/testing/postgres.sh --stop-server | --start-server
#     pg_server_stop / pg_server_start on the server the exported PG_* variables name
#     (for a test running under the next form)
#   tests/testing/postgres.sh [CMD ARGS...]
#     with CMD: starts a server, exports PG_URL (and PG_*), runs CMD, stops the server,
#               exits with CMD's status
#     without:  starts a server, prints PG_URL and PG_PID, waits for Ctrl-C / SIGTERM
#
# Durability: fsync=on, synchronous_commit=on, full_page_writes=on (PostgreSQL's
# defaults, stated on the command line so that they are what was measured).
#
# Variables set by pg_start: PG_URL PG_HOST PG_PORT PG_USER PG_DB PG_DIR PG_DATA
# PG_SOCKET_DIR PG_PID (the postmaster; its children are the backends) PG_BIN.
# Inputs: PG_DB_NAME (default corosched), PG_EXTRA_OPTS (more "-c name=value" options).
#
# The server is the cluster's own postmaster from /usr/lib/postgresql/<version>/bin,
# started as the unprivileged `postgres` user when we are root (PostgreSQL refuses to
# run as root). The system cluster (pg_ctlcluster / the init script) is never started.

_pg_log() { echo "postgres.sh: $*" >&2; }

# Finds the newest /usr/lib/postgresql/<version>/bin that has initdb, pg_ctl, postgres.
# Not /usr/local/bin/pg_ctl or the pg_wrapper scripts in /usr/bin: those may point
# anywhere (on some machines /usr/local/bin/pg_ctl is a link into one version).
_pg_find_bin() {
  local dir
  # Glob order is lexical (10 < 9): sort on the version number, keep the highest.
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "${dir}/initdb" && -x "${dir}/pg_ctl" && -x "${dir}/postgres" ]] && echo "${dir}"
  done | sort -t/ -k4,4n | tail -n 1
}

pg_install() {
  if [[ -n "$(_pg_find_bin)" ]]; then
    return 0
  fi
  _pg_log "installing Debian's postgresql"
  # install-deps.sh: as root or through sudo, and without starting the system service.
  "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/deploy/install-deps.sh" postgres
}

# Prints a free TCP port on 127.0.0.1 (the kernel's pick for port 0).
_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command as the server's user.
_pg_as() {
  if [[ -n "${_PG_RUN_AS:-}" ]]; then
    runuser -u "${_PG_RUN_AS}" -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  if [[ -n "${PG_PID:-}" ]] && kill -0 "${PG_PID}" 2>/dev/null; then
    _pg_log "already running (pid ${PG_PID})"
    return 0
  fi
  pg_install || return 1
  PG_BIN="$(_pg_find_bin)"
  if [[ -z "${PG_BIN}" ]]; then
    _pg_log "no /usr/lib/postgresql/*/bin after installing"
    return 1
  fi
  _PG_RUN_AS=""
  PG_USER="$(id -un)"
  if [[ "$(id -u)" -eq 0 ]]; then
    _PG_RUN_AS=postgres
    PG_USER=postgres
    if ! id postgres >/dev/null 2>&1; then
      _pg_log "we are root and there is no 'postgres' user (the package creates it)"
      return 1
    fi
  fi
  PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/corosched-pg-XXXXXX")"
  PG_DATA="${PG_DIR}/data"
  PG_SOCKET_DIR="${PG_DIR}"
  PG_HOST=127.0.0.1
  PG_DB="${PG_DB_NAME:-corosched}"
  chmod 755 "${PG_DIR}"
  [[ -n "${_PG_RUN_AS}" ]] && chown "${_PG_RUN_AS}:" "${PG_DIR}"
  trap pg_stop EXIT

  if ! _pg_as "${PG_BIN}/initdb" -D "${PG_DATA}" -U "${PG_USER}" --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"${PG_DIR}/initdb.log" 2>&1; then
    _pg_log "initdb failed:"
    cat "${PG_DIR}/initdb.log" >&2
    return 1
  fi

  # The port is picked, released, then bound by the server: another process could take
  # it in between, so a failed start is retried with a new port.
  local attempt opts
  for attempt in 1 2 3; do
    PG_PORT="$(_free_port)"
    opts="-c listen_addresses=127.0.0.1 -c port=${PG_PORT}"
    opts+=" -c unix_socket_directories=${PG_SOCKET_DIR}"
    opts+=" -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    opts+=" -c max_connections=200 ${PG_EXTRA_OPTS:-}"
    if _pg_as "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -l "${PG_DIR}/server.log" -o "${opts}" \
      -w -t 60 start >/dev/null 2>&1; then
      echo "${opts}" >"${PG_DIR}/options"
      break
    fi
    _pg_log "start on port ${PG_PORT} failed (attempt ${attempt}):"
    tail -n 5 "${PG_DIR}/server.log" >&2
    PG_PORT=""
  done
  if [[ -z "${PG_PORT}" ]]; then
    return 1
  fi
  PG_PID="$(head -n 1 "${PG_DATA}/postmaster.pid")"

  local _
  for _ in $(seq 1 100); do
    if "${PG_BIN}/pg_isready" -q -h "${PG_HOST}" -p "${PG_PORT}" -U "${PG_USER}"; then
      break
    fi
    sleep 0.1
  done
  if ! "${PG_BIN}/pg_isready" -q -h "${PG_HOST}" -p "${PG_PORT}" -U "${PG_USER}"; then
    _pg_log "server does not accept connections"
    return 1
  fi
  if ! "${PG_BIN}/createdb" -h "${PG_HOST}" -p "${PG_PORT}" -U "${PG_USER}" "${PG_DB}"; then
    _pg_log "createdb ${PG_DB} failed"
    return 1
  fi
  PG_URL="postgresql://${PG_USER}@${PG_HOST}:${PG_PORT}/${PG_DB}"
  export PG_URL PG_HOST PG_PORT PG_USER PG_DB PG_DIR PG_DATA PG_SOCKET_DIR PG_PID PG_BIN
  _pg_log "PostgreSQL $("${PG_BIN}/postgres" --version | awk '{print $3}') at ${PG_URL} (pid ${PG_PID}, fsync=on synchronous_commit=on)"
}

# Runs commands as the server's user from now on (root: postgres), for the
# --stop-server and --start-server commands, which run in a process of their own.
_pg_set_run_as() {
  _PG_RUN_AS=""
  if [[ "$(id -u)" -eq 0 ]]; then _PG_RUN_AS=postgres; fi
}

# Stops the server (fast shutdown), keeping its data directory.
pg_server_stop() {
  _pg_as "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -m fast -w -t 60 stop >/dev/null
}

# Starts the server pg_server_stop stopped, on the same port with the same options.
pg_server_start() {
  _pg_as "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -l "${PG_DIR}/server.log" \
    -o "$(cat "${PG_DIR}/options")" -w -t 60 start >/dev/null
}

# Stops the server (fast shutdown) and removes its directory. Safe to call twice.
pg_stop() {
  if [[ -n "${PG_DATA:-}" && -f "${PG_DATA}/postmaster.pid" && -n "${PG_BIN:-}" ]]; then
    _pg_as "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      { if [[ -n "${PG_PID:-}" ]]; then kill -KILL "${PG_PID}" 2>/dev/null || true; fi; }
  fi
  if [[ -n "${PG_DIR:-}" && -d "${PG_DIR}" ]]; then
    rm -rf "${PG_DIR}"
  fi
  unset PG_URL PG_PID PG_DIR PG_DATA
}

# Run as a command (not sourced).
if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
  set -euo pipefail
  if [[ "${1:-}" == "--stop-server" || "${1:-}" == "--start-server" ]]; then
    : "${PG_DATA:?--stop-server and --start-server act on the exported PG_DATA}"
    _pg_set_run_as
    if [[ "$1" == "--stop-server" ]]; then pg_server_stop; else pg_server_start; fi
    exit 0
  fi
  # A signal during the start must not leave a server behind.
  trap 'pg_stop; exit 143' INT TERM
  pg_start
  if [[ $# -gt 0 ]]; then
    set +e
    "$@"
    rc=$?
    pg_stop
    exit "${rc}"
  fi
  echo "PG_URL=${PG_URL}"
  echo "PG_PID=${PG_PID}"
  while kill -0 "${PG_PID}" 2>/dev/null; do sleep 1; done
  _pg_log "server exited"
  pg_stop
fi
