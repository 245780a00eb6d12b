#!/usr/bin/env bash
# The compose stack's security without Docker: the credentials deploy/dev-certs.sh makes
# (what the stack's one-shot `certs` service runs) and the daemon environment
# docker-compose.yml sets, on a real corosched-server, its CLI and a real Prometheus
# scraping with deploy/prometheus/prometheus.yml's corosched job:
#   - health answers over TLS without a token;
#   - the CLI with the stack's CA and token (COROSCHED_TLS_CA, COROSCHED_TOKEN_FILE, as in
#     the container) runs the hello example; without the token it is refused as
#     unauthenticated, and without the CA (plaintext) it cannot talk to the daemon;
#   - /metrics answers https with the scrape password, 401 without it or with a wrong one;
#   - Prometheus scrapes it (up == 1) with the stack's tls_config and basic_auth.
#
#   secure_stack_e2e.sh SERVER CLI
#
# Only the addresses differ from the stack: everything listens on free loopback ports, in
# a temporary directory, and stops however the script ends. Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"
# shellcheck source=tests/deploy/daemon.sh
source "${here}/daemon.sh"
# shellcheck source=tests/deploy/prometheus.sh
source "${here}/prometheus.sh"

if [[ $# -ne 2 ]]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
server="$1"
cli="$2"
readonly SECRETS_IN_STACK=/etc/corosched/secrets

ensure_command openssl openssl
ensure_command docker-compose docker-compose
ensure_prometheus
python="$(yaml_python)"
work="$(mktemp -d)"
trap 'stop_prometheus; stop_daemon; rm -rf "${work}"' EXIT
secrets="${work}/secrets"

deploy/dev-certs.sh "${secrets}" corosched localhost >/dev/null

# The corosched service's environment from the resolved compose file, as NAME=VALUE
# lines, with the secrets volume's path replaced by this test's directory.
docker-compose -f docker-compose.yml config | "${python}" -c '
import sys, yaml
env = yaml.safe_load(sys.stdin)["services"]["corosched"]["environment"]
for name, value in sorted(env.items()):
    print(f"{name}={str(value).replace(sys.argv[1], sys.argv[2])}")
' "${SECRETS_IN_STACK}" "${secrets}" >"${work}/stack.env"
while IFS= read -r line; do
  export "${line?}"
done <"${work}/stack.env"
echo "the stack's daemon environment:"
sed 's/^/  /' "${work}/stack.env"

# start_daemon's --listen, --metrics-listen and --data-dir flags win over the stack's
# COROSCHED_LISTEN, COROSCHED_METRICS_LISTEN and COROSCHED_DATA_DIR.
start_daemon "${server}" "${work}"
echo "corosched-server: gRPC ${DAEMON_ADDR}, metrics ${DAEMON_METRICS} (TLS and tokens)"

"${cli}" --addr "${DAEMON_ADDR}" health --timeout 5s
env -u COROSCHED_TOKEN_FILE "${cli}" --addr "${DAEMON_ADDR}" health --timeout 5s
echo "OK: health over TLS, with and without the token"

output="$("${cli}" --addr "${DAEMON_ADDR}" submit -f "${DAEMON_EXAMPLES}/hello.json" --wait)"
if [[ "${output}" != "Hello, World!" ]]; then
  echo "FAIL: hello with the stack's CA and token printed '${output}'" >&2
  exit 1
fi
echo "OK: the CLI with the stack's CA and token ran hello"

if env -u COROSCHED_TOKEN_FILE "${cli}" --addr "${DAEMON_ADDR}" stats \
  >"${work}/no-token.out" 2>"${work}/no-token.err"; then
  echo "FAIL: stats without a token succeeded" >&2
  exit 1
fi
if ! grep -qi "unauthenticated" "${work}/no-token.err"; then
  echo "FAIL: stats without a token did not say it was unauthenticated:" >&2
  cat "${work}/no-token.err" >&2
  exit 1
fi
if env -u COROSCHED_TLS_CA "${cli}" --addr "${DAEMON_ADDR}" stats --timeout 3s \
  >/dev/null 2>&1; then
  echo "FAIL: a plaintext client talked to the TLS port" >&2
  exit 1
fi
echo "OK: without the token: unauthenticated; without the CA: no connection"

metrics_url="https://${DAEMON_METRICS}/metrics"
password="$(cat "${secrets}/metrics-password")"
status_of() {
  curl -s -o "${work}/metrics.out" -w '%{http_code}' --max-time 5 \
    --cacert "${secrets}/ca.pem" "$@" "${metrics_url}" || true
}
for attempt in "no credentials:" "wrong password:-u prometheus:wrong"; do
  code="$(status_of ${attempt#*:})"
  if [[ "${code}" != "401" ]]; then
    echo "FAIL: /metrics with ${attempt%%:*} answered ${code}, expected 401" >&2
    exit 1
  fi
done
code="$(status_of -u "prometheus:${password}")"
if [[ "${code}" != "200" ]] || ! grep -q '^corosched_run_queue_depth' "${work}/metrics.out"; then
  echo "FAIL: /metrics with the scrape password answered ${code}" >&2
  exit 1
fi
echo "OK: /metrics over https: 401 without the password or with a wrong one, 200 with it"

# The stack's scrape job, pointed at this daemon and this test's secrets.
"${python}" - "deploy/prometheus/prometheus.yml" "${DAEMON_METRICS}" \
  "${SECRETS_IN_STACK}" "${secrets}" >"${work}/prometheus.yml" <<'PY'
import sys, yaml
path, target, old, new = sys.argv[1:]
with open(path, encoding="utf-8") as f:
    stack = yaml.safe_load(f)
job = next(j for j in stack["scrape_configs"] if j["job_name"] == "corosched")
job["scrape_interval"] = "1s"
job["static_configs"] = [{"targets": [target]}]
job["tls_config"]["ca_file"] = job["tls_config"]["ca_file"].replace(old, new)
job["basic_auth"]["password_file"] = job["basic_auth"]["password_file"].replace(old, new)
print(yaml.safe_dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                      "scrape_configs": [job]}))
PY
start_prometheus "${work}/prometheus.yml" "${work}"
wait_for 'up{job="corosched"}' 'v == 1' >/dev/null
wait_for 'corosched_run_queue_depth{job="corosched"}' 'v >= 0' >/dev/null
echo "OK: Prometheus scrapes /metrics with the stack's tls_config and basic_auth"
