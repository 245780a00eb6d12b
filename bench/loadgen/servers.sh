# shellcheck shell=bash
# Shared by bench/loadgen/run.sh and bench/loadgen/smoke_test.sh (sourced, not
# run): the echo server and the daemon on free loopback ports, stopped at exit.
# Every wait is bounded.
#
#   servers_init                  a work directory ($SERVERS_WORK), an EXIT trap
#   start_echo ECHO_SERVER        prints the echo server's address
#   start_daemon SERVER [FLAG...] prints the daemon's address (--durability none)
#
# Call them as addr="$(start_echo ...)" after servers_init. Command
# substitution runs them in a subshell, so each server's pid goes to a file in
# $SERVERS_WORK, where the EXIT trap finds it, and the server's own stdout goes
# to its log, so the substitution ends once the address is printed.

SERVERS_WORK=""

servers_init() {
  SERVERS_WORK="$(mktemp -d)"
  trap servers_cleanup EXIT
  trap 'exit 130' INT TERM
}

# SIGTERM to every server started, SIGKILL after 10 s each; then the work dir.
servers_cleanup() {
  local pid
  [[ -n "$SERVERS_WORK" ]] || return 0
  for pid in $(cat "$SERVERS_WORK"/*.pid 2>/dev/null); do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $(cat "$SERVERS_WORK"/*.pid 2>/dev/null); do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$SERVERS_WORK"
}

# servers_wait_ready NAME PID: the address the server wrote to its ready file
# (at most 30 s).
servers_wait_ready() {
  local ready="$SERVERS_WORK/$1.addr"
  for _ in $(seq 300); do
    if [[ -s "$ready" ]]; then head -n1 "$ready"; return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then
      echo "servers.sh: $1 exited before it was ready:" >&2
      cat "$SERVERS_WORK/$1.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "servers.sh: $1 wrote no ready file after 30 s" >&2
  return 1
}

start_echo() {
  "$1" --listen 127.0.0.1:0 --ready-file "$SERVERS_WORK/echo.addr" \
    >>"$SERVERS_WORK/echo.log" 2>&1 &
  echo $! >"$SERVERS_WORK/echo.pid"
  servers_wait_ready echo $!
}

start_daemon() {
  local server="$1"
  shift
  "$server" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --durability none --ready-file "$SERVERS_WORK/daemon.addr" \
    --log-level warn "$@" >>"$SERVERS_WORK/daemon.log" 2>&1 &
  echo $! >"$SERVERS_WORK/daemon.pid"
  servers_wait_ready daemon $!
}
