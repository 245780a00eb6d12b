#!/usr/bin/env bash
# Checks docker-compose.yml without a Docker engine: Debian's docker-compose (installed if
# missing) validates it against the Compose schema (`config -q`), with and without the
# profile `cluster`, then compose_structure.py checks the stack's own rules on the resolved
# configuration with the profile on, and that those rules catch a set of broken stacks.
#
#   check_compose.sh [COMPOSE_FILE]      default docker-compose.yml; run from the repo root
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"
compose_file="${1:-docker-compose.yml}"

ensure_command docker-compose docker-compose
python="$(yaml_python)"
docker-compose -f "${compose_file}" config -q
docker-compose -f "${compose_file}" --profile cluster config -q
resolved="$(docker-compose -f "${compose_file}" --profile cluster config)"
"${python}" "${here}/compose_structure.py" <<<"${resolved}"
"${python}" "${here}/compose_structure.py" --self-test <<<"${resolved}"
