#!/usr/bin/env python3
"""Checks deploy/k8s and deploy/grafana/provisioning for what the deployment promises
(there is no cluster or Grafana here to try them on). Run from the repository root.

deploy/k8s: a StatefulSet whose pods keep /var/lib/corosched on a volumeClaimTemplate,
have liveness and readiness probes that ask the gRPC health service on 50051 over TLS
and Prometheus scrape annotations for https on 9464, run as the image's non-root user,
and take TLS and tokens from Secrets (no --insecure); a Service that selects those pods and routes to
ports the container declares; a kustomization that lists every manifest.
deploy/grafana/provisioning: the datasource has the uid the dashboard uses, and the
dashboard provider reads the folder docker-compose.yml mounts the dashboards at.
"""
import glob
import os
import sys

import yaml

DATA_DIR = "/var/lib/corosched"


def load_all(pattern):
    docs = {}
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    docs.setdefault(doc.get("kind"), []).append((path, doc))
    return docs


def check_statefulset(sts, errors):
    spec = sts["spec"]
    pod = spec["template"]
    container = pod["spec"]["containers"][0]
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    if mounts.get(DATA_DIR) not in claims:
        errors.append(f"StatefulSet: {DATA_DIR} is not on a volumeClaimTemplate")
    for probe in ("livenessProbe", "readinessProbe"):
        command = container.get(probe, {}).get("exec", {}).get("command", [])
        if command[:4] != ["corosched", "health", "--addr", "127.0.0.1:50051"]:
            errors.append(f"StatefulSet: {probe} is not `corosched health` on 50051")
    annotations = pod["metadata"].get("annotations", {})
    if (annotations.get("prometheus.io/scrape") != "true"
            or annotations.get("prometheus.io/port") != "9464"
            or annotations.get("prometheus.io/scheme") != "https"):
        errors.append("StatefulSet: pods lack prometheus.io scrape annotations for https "
                      "on 9464")
    check_credentials(pod, container, errors)
    security = pod["spec"].get("securityContext", {})
    if not security.get("runAsNonRoot") or security.get("fsGroup") != 10001:
        errors.append("StatefulSet: not runAsNonRoot with fsGroup 10001 (the image's user)")
    if not pod["metadata"].get("labels", {}).items() >= spec["selector"]["matchLabels"].items():
        errors.append("StatefulSet: selector does not match the pod labels")
    return pod["metadata"]["labels"], {p["name"]: p["containerPort"]
                                       for p in container.get("ports", [])}


def check_credentials(pod, container, errors):
    """TLS, tokens and /metrics' basic auth, each file on a mounted Secret."""
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    if str(env.get("COROSCHED_INSECURE", "false")).lower() not in ("false", "0"):
        errors.append("StatefulSet: COROSCHED_INSECURE is on")
    secret_mounts = {}
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        secret = volumes.get(mount["name"], {}).get("secret", {}).get("secretName")
        if secret:
            secret_mounts[mount["mountPath"]] = secret
    for name in ("COROSCHED_TLS_CERT", "COROSCHED_TLS_KEY", "COROSCHED_AUTH_TOKENS",
                 "COROSCHED_METRICS_TLS_CERT", "COROSCHED_METRICS_TLS_KEY",
                 "COROSCHED_METRICS_BASIC_AUTH", "COROSCHED_TLS_CA"):
        path = env.get(name)
        if not path:
            errors.append(f"StatefulSet: {name} is not set")
        elif os.path.dirname(path) not in secret_mounts:
            errors.append(f"StatefulSet: {name}={path} is not on a mounted Secret")


def check_k8s(errors):
    docs = load_all("deploy/k8s/*.yaml")
    statefulsets = docs.get("StatefulSet", [])
    if len(statefulsets) != 1:
        errors.append(f"deploy/k8s: {len(statefulsets)} StatefulSets, expected 1")
        return
    labels, ports = check_statefulset(statefulsets[0][1], errors)
    services = [doc for _, doc in docs.get("Service", [])]
    if not any(s["spec"].get("clusterIP") != "None" for s in services):
        errors.append("deploy/k8s: no (non-headless) Service")
    for service in services:
        name = service["metadata"]["name"]
        if not labels.items() >= service["spec"]["selector"].items():
            errors.append(f"Service {name}: selector does not match the pods")
        for port in service["spec"]["ports"]:
            if port.get("targetPort") not in ports and port.get("targetPort") not in ports.values():
                errors.append(f"Service {name}: targetPort {port.get('targetPort')} "
                              "is not a container port")
    governing = statefulsets[0][1]["spec"]["serviceName"]
    if not any(s["metadata"]["name"] == governing and s["spec"].get("clusterIP") == "None"
               for s in services):
        errors.append(f"StatefulSet: serviceName {governing} is not a headless Service")
    with open("deploy/k8s/kustomization.yaml", encoding="utf-8") as f:
        listed = set(yaml.safe_load(f)["resources"])
    present = {os.path.basename(p) for p in glob.glob("deploy/k8s/*.yaml")}
    present.discard("kustomization.yaml")
    if listed != present:
        errors.append(f"kustomization.yaml lists {sorted(listed)}, files are {sorted(present)}")


def check_grafana(errors):
    with open("deploy/grafana/provisioning/datasources/prometheus.yml", encoding="utf-8") as f:
        datasources = yaml.safe_load(f)["datasources"]
    if not any(d.get("uid") == "prometheus" and d.get("type") == "prometheus"
               for d in datasources):
        errors.append("grafana: no prometheus datasource with uid 'prometheus'")
    with open("deploy/grafana/provisioning/dashboards/corosched.yml", encoding="utf-8") as f:
        providers = yaml.safe_load(f)["providers"]
    with open("docker-compose.yml", encoding="utf-8") as f:
        grafana = yaml.safe_load(f)["services"]["grafana"]
    mounted = {v.split(":")[1] for v in grafana["volumes"]
               if v.startswith("./deploy/grafana/dashboards:")}
    if not any(p.get("options", {}).get("path") in mounted for p in providers):
        errors.append(f"grafana: no dashboard provider reads {sorted(mounted)}")


def main():
    errors = []
    check_k8s(errors)
    check_grafana(errors)
    for error in errors:
        print(f"FAIL: {error}")
    if not errors:
        print("OK: deploy/k8s and deploy/grafana/provisioning")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
