#!/usr/bin/env python3
"""Checks deploy/k8s, deploy/k8s/cluster, deploy/k8s/cluster-dev and
deploy/grafana/provisioning for what the deployment promises (there is no cluster or
Grafana here to try them on). Run from the repository root.

    manifests_structure.py               the checks
    manifests_structure.py --self-test   they must catch a set of broken manifests

Every daemon pod (the StatefulSet's and the Deployment's): liveness and readiness probes
that ask the gRPC health service on 50051 over TLS, Prometheus scrape annotations for
https on 9464, the image's non-root user, TLS and tokens from Secrets (no --insecure).
deploy/k8s: a StatefulSet whose pods keep /var/lib/corosched on a volumeClaimTemplate; a
Service that selects those pods and routes to ports the container declares; a
kustomization that lists every manifest.
deploy/k8s/cluster: a Deployment of several replicas with no volume of its own, on
PostgreSQL (COROSCHED_POSTGRES_URL from a Secret, no data directory); a ClusterIP Service
and a headless one of ready pods only; a PodDisruptionBudget that lets at most one daemon
go at a time; selectors that match its pods and not the single daemon's (both may share a
namespace); a kustomization that lists every manifest.
deploy/k8s/cluster-dev: the cluster plus a development PostgreSQL 15 StatefulSet (its
data on a claim, pg_isready probes, its password from a Secret, TLS on) and its Service.
deploy/grafana/provisioning: the datasource has the uid the dashboard uses, and the
dashboard provider reads the folder docker-compose.yml mounts the dashboards at.
"""
import copy
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
    check_daemon_pod("StatefulSet", spec, errors)
    return pod["metadata"]["labels"], {p["name"]: p["containerPort"]
                                       for p in container.get("ports", [])}


def check_daemon_pod(kind, spec, errors):
    """Probes, scrape annotations, user and credentials of a daemon's pod template."""
    pod = spec["template"]
    container = pod["spec"]["containers"][0]
    for probe in ("livenessProbe", "readinessProbe"):
        command = container.get(probe, {}).get("exec", {}).get("command", [])
        if command[:4] != ["corosched", "health", "--addr", "127.0.0.1:50051"]:
            errors.append(f"{kind}: {probe} is not `corosched health` on 50051")
    annotations = pod["metadata"].get("annotations", {})
    if (annotations.get("prometheus.io/scrape") != "true"
            or annotations.get("prometheus.io/port") != "9464"
            or annotations.get("prometheus.io/scheme") != "https"):
        errors.append(f"{kind}: pods lack prometheus.io scrape annotations for https "
                      "on 9464")
    check_credentials(kind, pod, container, errors)
    security = pod["spec"].get("securityContext", {})
    if not security.get("runAsNonRoot") or security.get("fsGroup") != 10001:
        errors.append(f"{kind}: not runAsNonRoot with fsGroup 10001 (the image's user)")
    if not pod["metadata"].get("labels", {}).items() >= spec["selector"]["matchLabels"].items():
        errors.append(f"{kind}: selector does not match the pod labels")


def check_credentials(kind, pod, container, errors):
    """TLS, tokens and /metrics' basic auth, each file on a mounted Secret."""
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    if str(env.get("COROSCHED_INSECURE", "false")).lower() not in ("false", "0"):
        errors.append(f"{kind}: COROSCHED_INSECURE is on")
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
            errors.append(f"{kind}: {name} is not set")
        elif os.path.dirname(path) not in secret_mounts:
            errors.append(f"{kind}: {name}={path} is not on a mounted Secret")


def check_services(services, labels, ports, errors):
    """Each Service selects the pods (labels) and routes to their ports."""
    for service in services:
        name = service["metadata"]["name"]
        if not labels.items() >= service["spec"]["selector"].items():
            errors.append(f"Service {name}: selector does not match the pods")
        for port in service["spec"]["ports"]:
            if port.get("targetPort") not in ports and port.get("targetPort") not in ports.values():
                errors.append(f"Service {name}: targetPort {port.get('targetPort')} "
                              "is not a container port")


def check_kustomization(folder, errors, extra=()):
    """The kustomization lists every manifest of `folder` (and `extra` bases)."""
    with open(os.path.join(folder, "kustomization.yaml"), encoding="utf-8") as f:
        listed = set(yaml.safe_load(f)["resources"])
    present = {os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.yaml"))}
    present.discard("kustomization.yaml")
    present.update(extra)
    if listed != present:
        errors.append(f"{folder}/kustomization.yaml lists {sorted(listed)}, "
                      f"expected {sorted(present)}")


def check_k8s(docs, errors):
    statefulsets = docs.get("StatefulSet", [])
    if len(statefulsets) != 1:
        errors.append(f"deploy/k8s: {len(statefulsets)} StatefulSets, expected 1")
        return {}
    labels, ports = check_statefulset(statefulsets[0][1], errors)
    services = [doc for _, doc in docs.get("Service", [])]
    if not any(s["spec"].get("clusterIP") != "None" for s in services):
        errors.append("deploy/k8s: no (non-headless) Service")
    check_services(services, labels, ports, errors)
    governing = statefulsets[0][1]["spec"]["serviceName"]
    if not any(s["metadata"]["name"] == governing and s["spec"].get("clusterIP") == "None"
               for s in services):
        errors.append(f"StatefulSet: serviceName {governing} is not a headless Service")
    return labels


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


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def check_cluster(docs, single_labels, errors):
    deployments = docs.get("Deployment", [])
    if len(deployments) != 1:
        errors.append(f"deploy/k8s/cluster: {len(deployments)} Deployments, expected 1")
        return
    spec = deployments[0][1]["spec"]
    check_daemon_pod("Deployment", spec, errors)
    pod = spec["template"]
    container = pod["spec"]["containers"][0]
    labels = pod["metadata"].get("labels", {})
    if spec.get("replicas", 1) < 2:
        errors.append(f"Deployment: {spec.get('replicas', 1)} replica, expected several")
    if pod["spec"].get("volumes") and any(
            "persistentVolumeClaim" in v or "hostPath" in v for v in pod["spec"]["volumes"]):
        errors.append("Deployment: a daemon with a volume of its own: it must be stateless")
    env = env_of(container)
    url = env.get("COROSCHED_POSTGRES_URL", {})
    if not url.get("valueFrom", {}).get("secretKeyRef"):
        errors.append("Deployment: COROSCHED_POSTGRES_URL does not come from a Secret")
    if "COROSCHED_DATA_DIR" in env:
        errors.append("Deployment: COROSCHED_DATA_DIR is set: the daemons are on PostgreSQL")
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    services = [doc for _, doc in docs.get("Service", [])]
    check_services(services, labels, ports, errors)
    if not any(s["spec"].get("clusterIP") != "None" for s in services):
        errors.append("deploy/k8s/cluster: no (non-headless) Service")
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    if len(headless) != 1 or headless[0]["spec"].get("publishNotReadyAddresses", False):
        errors.append("deploy/k8s/cluster: no headless Service of ready pods only (for "
                      "clients that spread their calls with round_robin)")
    budgets = [doc for _, doc in docs.get("PodDisruptionBudget", [])]
    if len(budgets) != 1:
        errors.append(f"deploy/k8s/cluster: {len(budgets)} PodDisruptionBudgets, expected 1")
    else:
        budget = budgets[0]["spec"]
        if not labels.items() >= budget["selector"]["matchLabels"].items():
            errors.append("PodDisruptionBudget: selector does not match the pods")
        if budget.get("maxUnavailable") != 1 and not (
                0 < int(budget.get("minAvailable", 0)) < spec.get("replicas", 1)):
            errors.append("PodDisruptionBudget: does not let one daemon, and only one, go")
    for name, selector in [(s["metadata"]["name"], s["spec"]["selector"]) for s in services]:
        if single_labels.items() >= selector.items():
            errors.append(f"Service {name} of the cluster selects the single daemon's pods")
    if single_labels.items() >= spec["selector"]["matchLabels"].items():
        errors.append("Deployment: its selector matches the single daemon's pods")


def check_dev_postgres(docs, errors):
    statefulsets = docs.get("StatefulSet", [])
    if len(statefulsets) != 1:
        errors.append(f"deploy/k8s/cluster-dev: {len(statefulsets)} StatefulSets, expected 1")
        return
    spec = statefulsets[0][1]["spec"]
    pod = spec["template"]
    container = pod["spec"]["containers"][0]
    if not str(container.get("image", "")).startswith("postgres:15"):
        errors.append(f"PostgreSQL: image {container.get('image')!r} is not postgres:15")
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    if mounts.get("/var/lib/postgresql/data") not in claims:
        errors.append("PostgreSQL: /var/lib/postgresql/data is not on a volumeClaimTemplate")
    for probe in ("livenessProbe", "readinessProbe"):
        if container.get(probe, {}).get("exec", {}).get("command", [""])[0] != "pg_isready":
            errors.append(f"PostgreSQL: {probe} is not pg_isready")
    env = env_of(container)
    if "value" in env.get("POSTGRES_PASSWORD", {}) or "POSTGRES_HOST_AUTH_METHOD" in env:
        errors.append("PostgreSQL: a literal password, or a host auth method set")
    if "POSTGRES_PASSWORD" not in env and "POSTGRES_PASSWORD_FILE" not in env:
        errors.append("PostgreSQL: no password")
    if "ssl=on" not in container.get("args", []):
        errors.append("PostgreSQL: TLS is off (no -c ssl=on)")
    services = [doc for _, doc in docs.get("Service", [])]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    check_services(services, pod["metadata"].get("labels", {}), ports, errors)
    if not any(p["port"] == 5432 for s in services for p in s["spec"]["ports"]):
        errors.append("PostgreSQL: no Service on 5432")


def check_all(docs, errors):
    """docs: {folder: {kind: [(path, doc)]}}."""
    single_labels = check_k8s(docs["deploy/k8s"], errors)
    check_cluster(docs["deploy/k8s/cluster"], single_labels, errors)
    check_dev_postgres(docs["deploy/k8s/cluster-dev"], errors)


def broken_manifests(docs):
    """(what is broken, a copy of docs broken that way): each must be caught."""
    def broken(what, folder, kind, change):
        copied = copy.deepcopy(docs)
        for _, doc in copied[folder][kind]:
            change(doc)
        return what, copied

    def container(doc):
        return doc["spec"]["template"]["spec"]["containers"][0]

    def set_env(name, value):
        def change(doc):
            container(doc)["env"] = [e for e in container(doc)["env"] if e["name"] != name]
            container(doc)["env"].append({"name": name, "value": value})
        return change

    cluster, dev = "deploy/k8s/cluster", "deploy/k8s/cluster-dev"
    yield broken("one replica", cluster, "Deployment",
                 lambda d: d["spec"].update(replicas=1))
    yield broken("the URL as a literal", cluster, "Deployment",
                 set_env("COROSCHED_POSTGRES_URL", "postgresql://u:p@db/corosched"))
    yield broken("a data directory", cluster, "Deployment",
                 set_env("COROSCHED_DATA_DIR", "/var/lib/corosched"))
    yield broken("--insecure", cluster, "Deployment", set_env("COROSCHED_INSECURE", "true"))
    yield broken("no readiness probe", cluster, "Deployment",
                 lambda d: container(d).pop("readinessProbe"))
    yield broken("pods labelled as the single daemon's", cluster, "Deployment",
                 lambda d: d["spec"]["template"]["metadata"]["labels"].update(
                     {"app.kubernetes.io/name": "corosched"}))
    yield broken("a headless Service of unready pods", cluster, "Service",
                 lambda d: d["spec"].get("clusterIP") == "None" and d["spec"].update(
                     publishNotReadyAddresses=True))
    yield broken("a budget that stops every drain", cluster, "PodDisruptionBudget",
                 lambda d: d["spec"].update(maxUnavailable=0))
    yield broken("PostgreSQL on an emptyDir", dev, "StatefulSet",
                 lambda d: d["spec"].pop("volumeClaimTemplates"))
    yield broken("a literal PostgreSQL password", dev, "StatefulSet",
                 set_env("POSTGRES_PASSWORD", "postgres"))
    yield broken("PostgreSQL without TLS", dev, "StatefulSet",
                 lambda d: container(d).update(args=[]))


def load_docs():
    return {folder: load_all(f"{folder}/*.yaml")
            for folder in ("deploy/k8s", "deploy/k8s/cluster", "deploy/k8s/cluster-dev")}


def self_test():
    docs = load_docs()
    missed = []
    for what, broken in broken_manifests(docs):
        errors = []
        check_all(broken, errors)
        if not errors:
            missed.append(what)
    for what in missed:
        print(f"FAIL: manifests_structure.py does not catch: {what}")
    if not missed:
        print("OK: manifests_structure.py catches every broken manifest of its self-test")
    return 1 if missed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    errors = []
    check_all(load_docs(), errors)
    check_kustomization("deploy/k8s", errors)
    check_kustomization("deploy/k8s/cluster", errors)
    check_kustomization("deploy/k8s/cluster-dev", errors, extra=["../cluster"])
    check_grafana(errors)
    for error in errors:
        print(f"FAIL: {error}")
    if not errors:
        print("OK: deploy/k8s, deploy/k8s/cluster, deploy/k8s/cluster-dev and "
              "deploy/grafana/provisioning")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
