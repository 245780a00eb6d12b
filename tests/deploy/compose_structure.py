#!/usr/bin/env python3
"""Checks what `docker-compose config -q` does not: the stack's own rules. Reads the
resolved configuration (the YAML `docker-compose config` prints) on stdin.

    docker-compose -f docker-compose.yml config | compose_structure.py

Every long-running service has a healthcheck and a restart policy, and a one-shot service
(restart "no": the credentials maker) publishes no port; every depends_on waits for its
dependency to be healthy, or to have completed for a one-shot; every volume is a named
volume or a bind mount of a path that exists; the services the stack needs are there, and
corosched is built from deploy/Dockerfile. The daemon listens with TLS and tokens and no
--insecure (docs/security.md), and its CLI in the container trusts the stack's CA.
"""
import os
import sys

import yaml

REQUIRED_SERVICES = {"certs", "corosched", "prometheus", "grafana"}

# The daemon's environment in the stack: TLS, tokens, /metrics secured, and the CLI's trust.
REQUIRED_DAEMON_ENV = ("COROSCHED_TLS_CERT", "COROSCHED_TLS_KEY", "COROSCHED_AUTH_TOKENS",
                       "COROSCHED_METRICS_TLS_CERT", "COROSCHED_METRICS_TLS_KEY",
                       "COROSCHED_METRICS_BASIC_AUTH", "COROSCHED_TLS_CA",
                       "COROSCHED_TOKEN_FILE")


def one_shot(service):
    return str(service.get("restart", "no")) == "no"


def daemon_problems(daemon):
    environment = daemon.get("environment") or {}
    for name in REQUIRED_DAEMON_ENV:
        if not environment.get(name):
            yield f"corosched: {name} is not set"
    if str(environment.get("COROSCHED_INSECURE", "false")).lower() not in ("false", "0"):
        yield "corosched: COROSCHED_INSECURE is on"


def problems(config):
    services = config.get("services", {})
    missing = REQUIRED_SERVICES - services.keys()
    if missing:
        yield f"missing services: {sorted(missing)}"
    named = set(config.get("volumes") or {})
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
        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else None
            kind = volume.get("type") if isinstance(volume, dict) else None
            if kind == "volume" and source not in named:
                yield f"{name}: volume {source} is not a named volume"
            if kind == "bind" and not os.path.exists(source):
                yield f"{name}: bind mount source {source} does not exist"
    yield from daemon_problems(services.get("corosched", {}))
    build = services.get("corosched", {}).get("build", {})
    dockerfile = os.path.join(build.get("context", ""), build.get("dockerfile", ""))
    if not dockerfile.endswith("deploy/Dockerfile") or not os.path.isfile(dockerfile):
        yield f"corosched: not built from deploy/Dockerfile ({dockerfile})"


def main():
    config = yaml.safe_load(sys.stdin)
    found = list(problems(config))
    for problem in found:
        print(f"FAIL: docker-compose.yml: {problem}")
    if not found:
        print(f"OK: {len(config['services'])} services, each long-running one with a "
              "healthcheck and a restart policy; depends_on on health or completion; "
              "volumes exist; the daemon on TLS and tokens")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
