#!/usr/bin/env bash
# Makes the development credentials of the compose stack, once: a CA, a server certificate
# for the daemon, a client certificate, an admin bearer token with the tokens file that
# grants it, the password Prometheus scrapes /metrics with, and the PostgreSQL server
# certificate and password of the compose cluster profile. Files that exist are kept,
# so restarting the stack keeps its credentials; delete the directory (the compose volume
# corosched-secrets) to make new ones. See docs/security.md.
#
#   dev-certs.sh DIR [SERVER_NAME...]   SERVER_NAME: DNS names for the server certificate
#                                        (default: corosched localhost); 127.0.0.1 and ::1
#                                        are always in it
#
# Writes into DIR:
#   ca.pem ca.key                 the development CA (ca.key never leaves DIR)
#   server.pem server.key         the daemon's certificate (gRPC and /metrics)
#   client.pem client.key         a client certificate, common name corosched-dev
#   token                         the admin bearer token (what COROSCHED_TOKEN_FILE names)
#   tokens.json                   the daemon's --auth-tokens: only the token's sha256
#   metrics-password              the password Prometheus sends to /metrics
#   metrics-users                 the daemon's --metrics-basic-auth: prometheus:SHA256
#   postgres.pem postgres.key     PostgreSQL's server certificate (names postgres,
#                                 corosched-postgres, localhost, 127.0.0.1, ::1)
#   postgres-password             the password of PostgreSQL's user corosched
#                                 (the postgres image's POSTGRES_PASSWORD_FILE)
#   pgpass                        the same password as libpq's password file, for the
#                                 daemons' --postgres-url (passfile=...)
#
# Ownership (when run as root, as the compose one-shot service is): the daemon's image runs
# as uid 10001, Prometheus' as 65534 (nobody) and PostgreSQL's (postgres:15-bookworm) as
# 999; each secret is readable only by the one that needs it. Certificates and tokens.json
# are world-readable: they hold no secret.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 DIR [SERVER_NAME...]" >&2
  exit 2
fi
dir="$1"
shift
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  names=(corosched localhost)
fi
readonly DAEMON_UID=10001 PROMETHEUS_UID=65534 POSTGRES_UID=999 DAYS=825

mkdir -p "${dir}"
cd "${dir}"
umask 077

# Written to a temporary name, then renamed: an interrupted run leaves no half file that a
# later run would keep.
finish() { mv -f "$1.tmp" "$1"; }

if [[ ! -s ca.key || ! -s ca.pem ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "${DAYS}" \
    -subj "/CN=Corosched development CA" -keyout ca.key.tmp -out ca.pem.tmp 2>/dev/null
  finish ca.key
  finish ca.pem
  rm -f server.pem client.pem  # signed by a CA that is gone
fi

# issue NAME CN EXTENSIONS: NAME.key and NAME.pem signed by the CA.
issue() {
  local name="$1" common_name="$2" extensions="$3"
  if [[ -s "${name}.key" && -s "${name}.pem" ]]; then
    return
  fi
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=${common_name}" -keyout "${name}.key.tmp" -out "${name}.csr" 2>/dev/null
  printf '%s\n' "${extensions}" >"${name}.ext"
  openssl x509 -req -in "${name}.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days "${DAYS}" -extfile "${name}.ext" -out "${name}.pem.tmp" 2>/dev/null
  rm -f "${name}.csr" "${name}.ext" ca.srl
  finish "${name}.key"
  finish "${name}.pem"
}

san="IP:127.0.0.1,IP:::1"
for name in "${names[@]}"; do
  san="${san},DNS:${name}"
done
issue server "${names[0]}" "subjectAltName=${san}
extendedKeyUsage=serverAuth
keyUsage=digitalSignature"
issue postgres postgres "subjectAltName=IP:127.0.0.1,IP:::1,DNS:postgres,DNS:corosched-postgres,DNS:localhost
extendedKeyUsage=serverAuth
keyUsage=digitalSignature"
issue client corosched-dev "subjectAltName=DNS:corosched-dev
extendedKeyUsage=clientAuth
keyUsage=digitalSignature"

if [[ ! -s token ]]; then
  openssl rand -hex 32 >token.tmp
  finish token
fi
token_sha256="$(tr -d '\n' <token | openssl dgst -sha256 -r | cut -d' ' -f1)"
cat >tokens.json.tmp <<EOF
{
  "tokens": [
    {"name": "dev-admin", "sha256": "${token_sha256}", "namespaces": ["*"], "roles": ["admin"]}
  ],
  "certificates": [
    {"name": "dev-client", "common_name": "corosched-dev", "namespaces": ["*"], "roles": ["admin"]}
  ]
}
EOF
finish tokens.json

if [[ ! -s metrics-password ]]; then
  openssl rand -hex 24 >metrics-password.tmp
  finish metrics-password
fi
password_sha256="$(tr -d '\n' <metrics-password | openssl dgst -sha256 -r | cut -d' ' -f1)"
printf 'prometheus:%s\n' "${password_sha256}" >metrics-users.tmp
finish metrics-users

if [[ ! -s postgres-password ]]; then
  openssl rand -hex 24 >postgres-password.tmp
  finish postgres-password
fi
# host:port:database:user:password; libpq ignores the file unless only its owner may read it.
printf '*:*:corosched:corosched:%s\n' "$(tr -d '\n' <postgres-password)" >pgpass.tmp
finish pgpass

chmod 0644 ca.pem server.pem client.pem postgres.pem tokens.json metrics-users
chmod 0600 ca.key
chmod 0400 server.key client.key token metrics-password postgres.key postgres-password pgpass
if [[ "$(id -u)" -eq 0 ]]; then
  chown "${DAEMON_UID}:${DAEMON_UID}" server.key client.key token pgpass
  chown "${PROMETHEUS_UID}:${PROMETHEUS_UID}" metrics-password
  chown "${POSTGRES_UID}:${POSTGRES_UID}" postgres.key postgres-password
fi
echo "dev-certs: credentials in ${dir} (CA: ca.pem; token: token)"
