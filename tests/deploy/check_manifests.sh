#!/usr/bin/env bash
# Checks the Kubernetes manifests and the Grafana provisioning files (manifests_structure.py
# says what), with a Python that has PyYAML (python3-yaml installed if needed), and that
# those checks catch a set of broken manifests. Where kubectl is on PATH (Debian 12 has
# none), `kubectl kustomize` also builds each kustomization. Run from the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/deploy/lib.sh
source "${here}/lib.sh"

python="$(yaml_python)"
"${python}" "${here}/manifests_structure.py"
"${python}" "${here}/manifests_structure.py" --self-test
if command -v kubectl >/dev/null 2>&1; then
  for folder in deploy/k8s deploy/k8s/cluster deploy/k8s/cluster-dev; do
    kubectl kustomize "${folder}" >/dev/null
  done
  echo "OK: kubectl kustomize builds deploy/k8s, deploy/k8s/cluster and deploy/k8s/cluster-dev"
fi
