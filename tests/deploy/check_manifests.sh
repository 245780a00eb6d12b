#!/usr/bin/env bash
# Checks the Kubernetes manifests and the Grafana provisioning files (manifests_structure.py
# says what), with a Python that has PyYAML (python3-yaml installed if needed).
# Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"

python="$(yaml_python)"
"${python}" "${here}/manifests_structure.py"
