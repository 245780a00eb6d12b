#!/usr/bin/env python3
"""Checks a Grafana dashboard's structure and prints its queries as a Prometheus rules
file, so that `promtool check rules` parses every PromQL expression in it.

    dashboard_rules.py deploy/grafana/dashboards/corosched.json > rules.json

Checks: valid JSON; a uid and a title; unique panel ids; every panel and target uses the
provisioned datasource uid "prometheus"; every target has an expression. Grafana's
variables are replaced by values Prometheus accepts ($__rate_interval by 1m, $instance
by .*). JSON is YAML, so the rules file is written as JSON.
"""
import json
import sys

DATASOURCE_UID = "prometheus"
VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$instance": ".*"}


def fail(message):
    sys.exit(f"FAIL: {message}")


def panels_of(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # panels inside a collapsed row


def main():
    path = sys.argv[1]
    try:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except json.JSONDecodeError as error:
        fail(f"{path} is not valid JSON: {error}")
    for key in ("uid", "title", "panels"):
        if not dashboard.get(key):
            fail(f"{path} has no {key}")

    rules, ids = [], set()
    for panel in panels_of(dashboard):
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            fail(f"panel id {panel.get('id')} ('{title}') is used twice")
        ids.add(panel.get("id"))
        if panel.get("type") == "row":
            continue
        if panel.get("datasource", {}).get("uid") != DATASOURCE_UID:
            fail(f"panel '{title}' does not use datasource uid '{DATASOURCE_UID}'")
        if not panel.get("targets"):
            fail(f"panel '{title}' has no queries")
        for target in panel["targets"]:
            expr = target.get("expr", "").strip()
            if not expr:
                fail(f"panel '{title}' target {target.get('refId')} has no expr")
            if target.get("datasource", {}).get("uid", DATASOURCE_UID) != DATASOURCE_UID:
                fail(f"panel '{title}' target {target.get('refId')}: wrong datasource")
            for variable, value in VARIABLES.items():
                expr = expr.replace(variable, value)
            if "$" in expr:
                fail(f"panel '{title}': unknown Grafana variable in {expr}")
            rules.append({"record": f"dashboard:panel_{panel['id']}_{target['refId']}",
                          "expr": expr})
    json.dump({"groups": [{"name": dashboard["uid"], "rules": rules}]}, sys.stdout,
              indent=1)
    print(f"{path}: {len(rules)} queries in {len(ids)} panels", file=sys.stderr)


if __name__ == "__main__":
    main()
