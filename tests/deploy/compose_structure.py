#!/usr/bin/env python3
"""Checks what `docker-compose config -q` does not: the stack's own rules. Reads the
resolved configuration (the YAML `docker-compose config` prints) on stdin.

    docker-compose -f docker-compose.yml config | compose_structure.py

Every service has a healthcheck and a restart policy; every depends_on waits for the
dependency to be healthy; every volume is a named volume or a bind mount of a path that
exists; the services the stack needs are there, and corosched is built from
deploy/Dockerfile.
"""
import os
import sys

import yaml

REQUIRED_SERVICES = {"corosched", "prometheus", "grafana"}


def problems(config):
    services = config.get("services", {})
    missing = REQUIRED_SERVICES - services.keys()
    if missing:
        yield f"missing services: {sorted(missing)}"
    named = set(config.get("volumes") or {})
    for name, service in services.items():
        if not service.get("healthcheck", {}).get("test"):
            yield f"{name}: no healthcheck"
        if service.get("restart") not in ("always", "unless-stopped", "on-failure"):
            yield f"{name}: restart policy is {service.get('restart')!r}"
        for dependency, rule in (service.get("depends_on") or {}).items():
            if rule.get("condition") != "service_healthy":
                yield f"{name}: depends_on {dependency} without service_healthy"
        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else None
            kind = volume.get("type") if isinstance(volume, dict) else None
            if kind == "volume" and source not in named:
                yield f"{name}: volume {source} is not a named volume"
            if kind == "bind" and not os.path.exists(source):
                yield f"{name}: bind mount source {source} does not exist"
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
        print(f"OK: {len(config['services'])} services, each with a healthcheck and a "
              "restart policy; depends_on on health; volumes exist")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
