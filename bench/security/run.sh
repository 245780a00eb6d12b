#!/usr/bin/env bash
# What TLS and a bearer token cost unary SubmitTask: the daemon plaintext (A) against the
# daemon with --tls-cert/--tls-key and --auth-tokens, the load generator connecting with
# TLS and sending the token on every call (B), alternated in one run (A B A B ...), each
# measurement on a fresh daemon with the same flags otherwise. Prints a markdown table per
# round: calls/s of each side, the ratio B / A (target >= 0.85, docs/PERFORMANCE.md,
# "Security"), the CPU per call of the daemon (/proc/PID/stat) and of the load generator
# (its own CPU clock) on each side, and the CPU ratio: A's CPU per call (daemon + load
# generator) over B's, which is what the throughput ratio comes to when both share
# saturated cores, and which a busy shared machine disturbs much less than calls/s.
#
# Usage: bench/security/run.sh [--build-dir DIR] [--seconds S] [--rounds N]
#                              [--channels N] [--inflight N]
#   --build-dir  CMake build tree (default: build), Release; the targets corosched-server
#                and corosched_loadgen are built
#   --seconds    length of each measurement (default 5)
#   --rounds     A B pairs (default 3)
#   --channels, --inflight  concurrency (default 4 x 16, as bench/loadgen/run.sh):
#                each channel is one connection, so one TLS session
#   --tls-only   B without --auth-tokens and without the token: what TLS alone costs
#   --durability none (default) or sync: the daemon's store on both sides
#
# Durability: by default --durability none on both sides, as bench/loadgen/run.sh's submit
# measurement: this measures the service path TLS and the token sit on, where they weigh
# the most. --durability sync is the daemon's default: each side gets a fresh data
# directory, and each submit is answered once it is on disk (fsyncs, batched by group
# commit, then dominate; bench/durability/run.sh measures that path itself).
# The CA, the server certificate (for 127.0.0.1 and localhost) and the token are made
# with openssl in a temporary directory; the tokens file holds only the token's sha256.
# The raw JSON lines go to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="build"
seconds=5
rounds=3
channels=4
inflight=16
tls_only=0
durability=none
while (($#)); do
  case "$1" in
    --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --channels) channels="${2:?--channels needs a number}"; shift ;;
    --inflight) inflight="${2:?--inflight needs a number}"; shift ;;
    --tls-only) tls_only=1 ;;
    --durability)
      durability="${2:?--durability needs none or sync}"
      [[ "$durability" == none || "$durability" == sync ]] ||
        { echo "run.sh: --durability takes none or sync" >&2; exit 2; }
      shift
      ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

cd "$repo_root"
[[ "$build_dir" = /* ]] || build_dir="$repo_root/$build_dir"
log() { echo "security/run.sh: $*" >&2; }
command -v openssl >/dev/null || { log "needs the openssl command"; exit 2; }
command -v jq >/dev/null || { log "needs jq"; exit 2; }

log "building corosched-server corosched_loadgen in $build_dir"
cmake --build "$build_dir" --target corosched-server corosched_loadgen >&2
server="$build_dir/server/corosched-server"
loadgen="$build_dir/bench/loadgen/corosched_loadgen"

# shellcheck source=bench/loadgen/servers.sh
source "$repo_root/bench/loadgen/servers.sh"
servers_init
work="$SERVERS_WORK"

# Credentials: a CA, a server certificate it signed, a token and its tokens file.
(
  cd "$work"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=bench CA" -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null
  openssl rand -hex 32 | tr -d '\n' >token
  printf '{"tokens": [{"name": "bench", "sha256": "%s", "namespaces": ["*"], "roles": ["admin"]}]}\n' \
    "$(sha256sum token | cut -d' ' -f1)" >tokens.json
)

# stop_daemon: SIGTERM to the running daemon, SIGKILL after 10 s; forgets its files.
stop_daemon() {
  local pid
  pid="$(cat "$work/daemon.pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$work/daemon.pid" "$work/daemon.addr"
}

# measure SIDE ROUND: a fresh daemon, one submit measurement, its JSON in SIDE-ROUND.json.
measure() {
  local side="$1" round="$2" addr
  local -a daemon_flags=(--max-tasks 2000000) client_flags=()
  if [[ "$durability" == sync ]]; then
    rm -rf "$work/data-$side-$round"
    daemon_flags+=(--durability sync --data-dir "$work/data-$side-$round")
  fi
  if [[ "$side" == secure ]]; then
    daemon_flags+=(--tls-cert "$work/server.pem" --tls-key "$work/server.key")
    client_flags=(--tls-ca "$work/ca.pem")
    if ((!tls_only)); then
      daemon_flags+=(--auth-tokens "$work/tokens.json")
      client_flags+=(--token-file "$work/token")
    fi
  fi
  addr="$(start_daemon "$server" "${daemon_flags[@]}")"
  timeout $((${seconds%.*} + 60)) "$loadgen" --mode submit --target "$addr" \
    --seconds "$seconds" --channels "$channels" --inflight "$inflight" \
    --server-pid "$(cat "$work/daemon.pid")" "${client_flags[@]}" \
    >"$work/$side-$round.json"
  stop_daemon
  rm -rf "$work/data-$side-$round"
  cat "$work/$side-$round.json" >&2
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  measure plain "$round"
  measure secure "$round"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

get() { jq -r ".$2" "$work/$1.json"; }
b_name="TLS + token"
((tls_only)) && b_name="TLS only"
echo "| round | plaintext | $b_name | ratio (target >= 0.85) | daemon CPU us/call: plaintext / $b_name | load generator CPU us/call: plaintext / $b_name | CPU ratio |"
echo "|---|---|---|---|---|---|---|"
errors=0
for round in $(seq "$rounds"); do
  a="$(get "plain-$round" calls_per_s)"
  b="$(get "secure-$round" calls_per_s)"
  ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
  verdict="$(awk -v r="$ratio" 'BEGIN { print (r >= 0.85 ? "met" : "MISSED") }')"
  cpu_ratio="$(awk -v ad="$(get "plain-$round" server_cpu_us)" -v ac="$(get "plain-$round" client_cpu_us)" \
    -v bd="$(get "secure-$round" server_cpu_us)" -v bc="$(get "secure-$round" client_cpu_us)" \
    'BEGIN { printf "%.2f", (ad + ac) / (bd + bc) }')"
  echo "| $round | $a/s | $b/s | $ratio: $verdict | $(get "plain-$round" server_cpu_us) / $(get "secure-$round" server_cpu_us) | $(get "plain-$round" client_cpu_us) / $(get "secure-$round" client_cpu_us) | $cpu_ratio |"
  errors=$((errors + $(get "plain-$round" errors) + $(get "secure-$round" errors)))
done
echo
echo "SubmitTask of examples/hello.json, ${channels} channels x ${inflight} in flight, ${seconds} s each, --durability ${durability}$( ((tls_only)) && echo "; B is TLS only (no tokens file, no token)")."
echo "Errors: $errors. Load average before: $load_before; after: $load_after; $(nproc) cores."
