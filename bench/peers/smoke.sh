#!/usr/bin/env bash
# Smoke test of the peer benchmark: the whole harness (both servers, npm ci when
# needed, both peers alternated over two rounds, the table) with tiny sizes, failing
# unless every JSON line has the documented shape and each peer printed a throughput
# and a latency line. About half a minute on an idle 2-core machine; the figures it
# prints measure nothing.
#
# Not in CTest: it installs Debian's postgresql and redis-server when missing, runs
# `npm ci` (the npm registry) and would run once per build type in `make test`.
#
# Usage: bench/peers/smoke.sh [extra run.sh options, e.g. --corosched-cmd bench/peers/corosched.sh]
# (Corosched's side alone, without the peers, is in CTest: bench_peers_corosched_smoke.)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "${here}/run.sh" --jobs 200 --concurrency 4 --rounds 2 --rate 50 --seconds 1 \
  --warmup 20 --check "$@"
