#!/usr/bin/env bash
# Runs a test binary against a private PostgreSQL server (postgres.sh), with
# COROSCHED_TEST_POSTGRES_URL naming it, and stops the server after:
#   tests/testing/with_test_postgres.sh BINARY [ARGS...]
# The PostgreSQL store's CTest entries run this way (server/CMakeLists.txt).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testing/postgres.sh
source "${here}/postgres.sh"
pg_start
export COROSCHED_TEST_POSTGRES_URL="${PG_URL}"
# For tests that stop and start the server (postgres.sh --stop-server).
export COROSCHED_TEST_POSTGRES_SCRIPT="${here}/postgres.sh"
set +e
"$@"
rc=$?
pg_stop
exit "${rc}"
