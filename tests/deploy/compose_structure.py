#!/usr/bin/env python3
"""Checks what `docker-compose config -q` does not: the stack's own rules. Reads the
resolved configuration with the cluster profile on (what `docker-compose --profile
cluster config` prints) on stdin.

    docker-compose -f docker-compose.yml --profile cluster config | compose_structure.py
    ... | compose_structure.py --self-test   the rules must catch a set of broken stacks

The whole stack: every long-running service has a healthcheck and a restart policy, and
a one-shot service (restart "no": the credentials maker) publishes no port; every
depends_on waits for its dependency to be healthy, or to have completed for a one-shot;
every volume is a named volume or a bind mount of a path that exists; ports are published
on 127.0.0.1 only, no host port twice.

The default stack (no profile): certs, corosched, prometheus and grafana, corosched
built from deploy/Dockerfile, listening with TLS and tokens and no --insecure
(docs/security.md), its CLI trusting the stack's CA, on its SQLite data directory.

The profile `cluster`: PostgreSQL 15 (a named volume for its data, pg_isready as health,
its password from a file in the secrets volume, TLS on, no port published); three daemons
corosched-1..3 from the same image, with the default daemon's TLS and token settings, a
COROSCHED_POSTGRES_URL that checks PostgreSQL's certificate and holds no password, each
waiting for certs and a healthy PostgreSQL; the front corosched-front, whose nginx
upstream (deploy/nginx/corosched-front.conf) lists exactly those daemons and which waits
for them to be healthy; prometheus-cluster, whose configuration scrapes exactly those
daemons.
"""
import copy
import os
import re
import sys
import urllib.parse

import yaml

DEFAULT_SERVICES = {"certs", "corosched", "prometheus", "grafana"}
CLUSTER_DAEMONS = ("corosched-1", "corosched-2", "corosched-3")
CLUSTER_SERVICES = {"postgres", "corosched-front", "prometheus-cluster", *CLUSTER_DAEMONS}
SECRETS = "/etc/corosched/secrets"

# The daemon's environment in the stack: TLS, tokens, /metrics secured, and the CLI's trust.
REQUIRED_DAEMON_ENV = ("COROSCHED_TLS_CERT", "COROSCHED_TLS_KEY", "COROSCHED_AUTH_TOKENS",
                       "COROSCHED_METRICS_TLS_CERT", "COROSCHED_METRICS_TLS_KEY",
                       "COROSCHED_METRICS_BASIC_AUTH", "COROSCHED_TLS_CA",
                       "COROSCHED_TOKEN_FILE")


def one_shot(service):
    return str(service.get("restart", "no")) == "no"


def mounts(service):
    """(kind, source, target) of each volume, from the short or the long syntax."""
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            yield volume.get("type"), volume.get("source"), volume.get("target")
            continue
        source, target = volume.split(":")[:2]
        yield ("bind" if source.startswith(("/", ".")) else "volume"), source, target


def published(service):
    """(host_ip, host_port) of each published port, from the short or the long syntax."""
    for port in service.get("ports", []):
        if isinstance(port, dict):
            yield port.get("host_ip", ""), str(port.get("published", ""))
            continue
        parts = str(port).split("/")[0].split(":")
        if len(parts) == 3:
            yield parts[0], parts[1]
        elif len(parts) == 2:
            yield "", parts[0]
        else:
            yield "", ""


def stack_problems(services, named):
    host_ports = {}
    for name, service in services.items():
        if one_shot(service):
            if service.get("ports"):
                yield f"{name}: a one-shot service publishes ports"
        else:
            if not service.get("healthcheck", {}).get("test"):
                yield f"{name}: no healthcheck"
            if service.get("restart") not in ("always", "unless-stopped", "on-failure"):
                yield f"{name}: restart policy is {service.get('restart')!r}"
        for dependency, rule in (service.get("depends_on") or {}).items():
            wanted = ("service_completed_successfully"
                      if one_shot(services.get(dependency, {})) else "service_healthy")
            if rule.get("condition") != wanted:
                yield f"{name}: depends_on {dependency} without {wanted}"
        for kind, source, _ in mounts(service):
            if kind == "volume" and source not in named:
                yield f"{name}: volume {source} is not a named volume"
            if kind == "bind" and not os.path.exists(source):
                yield f"{name}: bind mount source {source} does not exist"
        for host_ip, host_port in published(service):
            if host_ip != "127.0.0.1":
                yield f"{name}: port {host_port} is published on {host_ip or 'every address'}"
            if host_port in host_ports:
                yield f"{name}: host port {host_port} is also {host_ports[host_port]}'s"
            host_ports[host_port] = name


def daemon_problems(name, daemon):
    environment = daemon.get("environment") or {}
    for variable in REQUIRED_DAEMON_ENV:
        if not environment.get(variable):
            yield f"{name}: {variable} is not set"
    if str(environment.get("COROSCHED_INSECURE", "false")).lower() not in ("false", "0"):
        yield f"{name}: COROSCHED_INSECURE is on"
    build = daemon.get("build", {})
    dockerfile = os.path.join(build.get("context", ""), build.get("dockerfile", ""))
    if not dockerfile.endswith("deploy/Dockerfile") or not os.path.isfile(dockerfile):
        yield f"{name}: not built from deploy/Dockerfile ({dockerfile})"


def default_problems(services):
    missing = DEFAULT_SERVICES - services.keys()
    if missing:
        yield f"missing services: {sorted(missing)}"
    for name in DEFAULT_SERVICES & services.keys():
        if services[name].get("profiles"):
            yield f"{name}: in profiles {services[name]['profiles']}, not the default stack"
    daemon = services.get("corosched", {})
    yield from daemon_problems("corosched", daemon)
    if (daemon.get("environment") or {}).get("COROSCHED_POSTGRES_URL"):
        yield "corosched: the default daemon is on PostgreSQL, not its SQLite data directory"


def postgres_url_problems(name, url):
    if not url:
        yield f"{name}: COROSCHED_POSTGRES_URL is not set"
        return
    parsed = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parsed.query))
    if parsed.scheme not in ("postgres", "postgresql") or parsed.hostname != "postgres":
        yield f"{name}: COROSCHED_POSTGRES_URL does not name the service postgres ({url})"
    if parsed.password or "password" in query:
        yield f"{name}: COROSCHED_POSTGRES_URL holds a password"
    if query.get("sslmode") != "verify-full" or not query.get("sslrootcert"):
        yield f"{name}: COROSCHED_POSTGRES_URL does not check PostgreSQL's certificate"


def postgres_problems(postgres):
    if not str(postgres.get("image", "")).startswith("postgres:15"):
        yield f"postgres: image {postgres.get('image')!r} is not the official postgres:15"
    if not any(kind == "volume" and target == "/var/lib/postgresql/data"
               for kind, _, target in mounts(postgres)):
        yield "postgres: /var/lib/postgresql/data is not on a named volume"
    if "pg_isready" not in " ".join(postgres.get("healthcheck", {}).get("test", [])):
        yield "postgres: the healthcheck does not run pg_isready"
    environment = postgres.get("environment") or {}
    if environment.get("POSTGRES_PASSWORD") or environment.get(
            "POSTGRES_HOST_AUTH_METHOD") == "trust":
        yield "postgres: a password in the compose file, or none at all (trust)"
    if not str(environment.get("POSTGRES_PASSWORD_FILE", "")).startswith(SECRETS + "/"):
        yield f"postgres: POSTGRES_PASSWORD_FILE is not in {SECRETS}"
    if "ssl=on" not in (postgres.get("command") or []):
        yield "postgres: TLS is off (no -c ssl=on)"
    if postgres.get("ports"):
        yield "postgres: publishes a port"


def bind_source(service, target):
    return next((source for kind, source, mounted in mounts(service)
                 if kind == "bind" and mounted == target), None)


def front_problems(front, daemons):
    for daemon in daemons:
        if (front.get("depends_on") or {}).get(daemon) is None:
            yield f"corosched-front: does not wait for {daemon}"
    config = bind_source(front, "/etc/nginx/nginx.conf")
    if not config or not os.path.isfile(config):
        yield "corosched-front: no nginx configuration mounted at /etc/nginx/nginx.conf"
        return
    with open(config, encoding="utf-8") as f:
        upstream = set(re.findall(r"^\s*server\s+([\w.-]+):50051\b", f.read(), re.M))
    if upstream != set(daemons):
        yield (f"corosched-front: {config} sends calls to {sorted(upstream)}, "
               f"the cluster's daemons are {sorted(daemons)}")


def prometheus_cluster_problems(prometheus, daemons):
    flags = [f for f in prometheus.get("command", []) if f.startswith("--config.file=")]
    directory = bind_source(prometheus, "/etc/prometheus")
    if not flags or not directory:
        yield "prometheus-cluster: no --config.file in a mounted /etc/prometheus"
        return
    path = os.path.join(directory, os.path.relpath(flags[0].split("=", 1)[1],
                                                   "/etc/prometheus"))
    with open(path, encoding="utf-8") as f:
        jobs = yaml.safe_load(f)["scrape_configs"]
    targets = {t for job in jobs if job["job_name"] == "corosched"
               for group in job.get("static_configs", []) for t in group["targets"]}
    wanted = {f"{d}:9464" for d in daemons}
    if targets != wanted:
        yield f"prometheus-cluster: {path} scrapes {sorted(targets)}, not {sorted(wanted)}"


def cluster_problems(services):
    missing = CLUSTER_SERVICES - services.keys()
    if missing:
        yield f"missing services of the cluster profile: {sorted(missing)}"
        return
    for name in CLUSTER_SERVICES:
        if services[name].get("profiles") != ["cluster"]:
            yield f"{name}: profiles {services[name].get('profiles')}, expected ['cluster']"
    yield from postgres_problems(services["postgres"])
    for name in CLUSTER_DAEMONS:
        daemon = services[name]
        yield from daemon_problems(name, daemon)
        environment = daemon.get("environment") or {}
        yield from postgres_url_problems(name, environment.get("COROSCHED_POSTGRES_URL"))
        if daemon.get("image") != services["corosched"].get("image"):
            yield f"{name}: image {daemon.get('image')!r} is not the default daemon's"
        for dependency in ("certs", "postgres"):
            if (daemon.get("depends_on") or {}).get(dependency) is None:
                yield f"{name}: does not wait for {dependency}"
    yield from front_problems(services["corosched-front"], CLUSTER_DAEMONS)
    yield from prometheus_cluster_problems(services["prometheus-cluster"], CLUSTER_DAEMONS)


def problems(config):
    services = config.get("services", {})
    named = set(config.get("volumes") or {})
    yield from stack_problems(services, named)
    yield from default_problems(services)
    yield from cluster_problems(services)


def broken_stacks(config):
    """(what is broken, a copy of config broken that way): each must be caught."""
    def broken(what, change):
        stack = copy.deepcopy(config)
        change(stack["services"])
        return what, stack

    def environment(name):
        return lambda s: s[name].setdefault("environment", {})

    yield broken("a cluster daemon missing", lambda s: s.pop("corosched-2"))
    yield broken("the default daemon moved into the profile",
                 lambda s: s["corosched"].update(profiles=["cluster"]))
    yield broken("the default daemon on PostgreSQL", lambda s: s["corosched"].setdefault(
        "environment", {}).update(COROSCHED_POSTGRES_URL="postgresql://postgres/corosched"))
    yield broken("a cluster daemon without TLS", lambda s: s["corosched-1"]["environment"].pop(
        "COROSCHED_TLS_CERT"))
    yield broken("a cluster daemon --insecure", lambda s: environment("corosched-1")(s).update(
        COROSCHED_INSECURE="true"))
    yield broken("a password in the URL", lambda s: environment("corosched-3")(s).update(
        COROSCHED_POSTGRES_URL="postgresql://corosched:secret@postgres/corosched"
                               "?sslmode=verify-full&sslrootcert=/ca.pem"))
    yield broken("PostgreSQL's certificate unchecked", lambda s: environment("corosched-2")(
        s).update(COROSCHED_POSTGRES_URL="postgresql://corosched@postgres/corosched"
                                         "?sslmode=require"))
    yield broken("a literal PostgreSQL password", lambda s: environment("postgres")(s).update(
        POSTGRES_PASSWORD="postgres"))
    yield broken("PostgreSQL without TLS", lambda s: s["postgres"].update(command=["postgres"]))
    yield broken("PostgreSQL without pg_isready", lambda s: s["postgres"]["healthcheck"].update(
        test=["CMD", "true"]))
    yield broken("PostgreSQL published", lambda s: s["postgres"].update(
        ports=["127.0.0.1:5432:5432"]))
    yield broken("a daemon not waiting for PostgreSQL", lambda s: s["corosched-1"][
        "depends_on"].pop("postgres"))
    yield broken("the front on every address", lambda s: s["corosched-front"].update(
        ports=["50052:50051"]))
    yield broken("the front on the default daemon's port", lambda s: s["corosched-front"].update(
        ports=["127.0.0.1:50051:50051"]))
    yield broken("the front not waiting for a daemon", lambda s: s["corosched-front"][
        "depends_on"].pop("corosched-3"))
    yield broken("a cluster daemon from another image", lambda s: s["corosched-2"].update(
        image="corosched:old"))


def main():
    config = yaml.safe_load(sys.stdin)
    if sys.argv[1:] == ["--self-test"]:
        missed = [what for what, stack in broken_stacks(config) if not list(problems(stack))]
        for what in missed:
            print(f"FAIL: compose_structure.py does not catch: {what}")
        if not missed:
            print("OK: compose_structure.py catches every broken stack of its self-test")
        return 1 if missed else 0
    found = list(problems(config))
    for problem in found:
        print(f"FAIL: docker-compose.yml: {problem}")
    if not found:
        print(f"OK: {len(config['services'])} services, each long-running one with a "
              "healthcheck and a restart policy; depends_on on health or completion; "
              "volumes exist; ports on 127.0.0.1; the daemons on TLS and tokens; the "
              "cluster profile's PostgreSQL, daemons, front and Prometheus agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
