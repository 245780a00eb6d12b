#!/usr/bin/env bash
# Checks deploy/nginx/corosched-front.conf (the compose cluster profile's front) with
# Debian's nginx (nginx-light, installed if missing): `nginx -t` on a copy whose secrets
# directory is a temporary one holding deploy/dev-certs.sh's files and whose upstream names
# corosched-1..3 are 127.0.0.1..3 (nginx resolves them while it reads the file; there is
# no compose network here). tests/deploy/front_e2e.sh runs the same file before real
# daemons. Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"
readonly CONFIG=deploy/nginx/corosched-front.conf SECRETS_IN_STACK=/etc/corosched/secrets

ensure_command openssl openssl
ensure_command nginx nginx-light
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
deploy/dev-certs.sh "${work}/secrets" corosched localhost >/dev/null
for n in 1 2 3; do
  if ! grep -q "server corosched-${n}:50051 " "${CONFIG}"; then
    echo "FAIL: ${CONFIG}: corosched-${n}:50051 is not in the upstream" >&2
    exit 1
  fi
done
sed -e "s#${SECRETS_IN_STACK}#${work}/secrets#g" \
  -e 's/server corosched-\([1-3]\):50051 /server 127.0.0.\1:50051 /' \
  "${CONFIG}" >"${work}/front.conf"
nginx -t -c "${work}/front.conf" -p "${work}" -g "pid ${work}/nginx.pid;"
echo "OK: ${CONFIG} passes nginx -t"
