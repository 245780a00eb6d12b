#!/usr/bin/env bash
# The crash test (tests/server/crash_test.cc) for longer than `make test` runs
# it: CYCLES kill -9 cycles per round, ROUNDS rounds, stopping at the first
# failure. Each round submits and wakes tasks and runs work tasks through two
# workers while the daemon is killed, then checks that every acknowledged
# submit, wake and work completion was applied exactly once and that no task
# is stuck. Build first (make build); then, from the repository root:
#
#   tests/crash_soak.sh [CYCLES=200] [ROUNDS=5] [BUILD_DIR=build]
#
# With --cluster: the scale-out fault tests (tests/cluster/cluster_failover_test.cc:
# kill -9 of one of three daemons, and a PostgreSQL restart, each under load,
# then every acknowledged submit and wake checked and the epoch checker run) ROUNDS
# times under one private PostgreSQL server, a fresh database per round:
#
#   tests/crash_soak.sh --cluster [ROUNDS=5] [BUILD_DIR=build]
set -euo pipefail

if [[ "${1:-}" == "--cluster" ]]; then
  rounds="${2:-5}"
  build="${3:-build}"
  binary="$build/tests/cluster/cluster_e2e_test"
  if [[ ! -x "$binary" ]]; then
    echo "crash_soak: $binary not found; run 'make build' first" >&2
    exit 2
  fi
  echo "crash_soak: $rounds rounds of the cluster fault tests"
  "$(dirname "$0")/testing/postgres.sh" "$binary" --gtest_brief=1 \
    --gtest_filter='ClusterTest.KillNine*:ClusterTest.PostgresRestart*' \
    --gtest_repeat="$rounds" --gtest_fail_fast
  echo "crash_soak: $rounds rounds of the cluster fault tests passed"
  exit 0
fi

cycles="${1:-200}"
rounds="${2:-5}"
build="${3:-build}"
binary="$build/tests/server/server_crash_e2e_test"
if [[ ! -x "$binary" ]]; then
  echo "crash_soak: $binary not found; run 'make build' first" >&2
  exit 2
fi
for ((round = 1; round <= rounds; ++round)); do
  echo "crash_soak: round $round of $rounds, $cycles cycles"
  COROSCHED_CRASH_CYCLES="$cycles" "$binary" --gtest_brief=1
done
echo "crash_soak: $rounds rounds of $cycles kill -9 cycles passed"
