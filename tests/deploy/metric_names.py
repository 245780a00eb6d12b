#!/usr/bin/env python3
"""Reports metric names (and label names and values) that the alert rules or the Grafana
dashboard use but no /metrics exposition provides.

    metric_names.py --exposition daemon.prom \
        --uses deploy/prometheus/alerts.yml --uses deploy/grafana/dashboards/corosched.json

A name counts as used when it appears as `corosched_...` in a rules file, or in a
dashboard's query fields (`expr`, `query`); the dashboard must be valid JSON. A selector
`name{label="value"}` also needs that label, and (for `=`) that value, on some series of
that name, so the daemon should create every labelled child (outcome, state, source) at
start-up. `job` and `instance` come from Prometheus itself. Exit status 1 lists what is
missing.
"""
import argparse
import json
import re
import sys

NAME = re.compile(r"\bcorosched_[a-zA-Z0-9_]*[a-zA-Z0-9]")
SELECTOR = re.compile(r"\b(corosched_[a-zA-Z0-9_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
PROMETHEUS_LABELS = {"job", "instance"}
QUERY_KEYS = {"expr", "query"}


def read_exposition(path, series):
    """Adds {name: {label: {values}}} for every sample line of a text exposition."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            match = SAMPLE.match(line)
            if not match or line.startswith("#"):
                continue
            labels = series.setdefault(match.group(1), {})
            for name, value in LABEL.findall(match.group(2) or ""):
                labels.setdefault(name, set()).add(value)


def dashboard_queries(node):
    """Yields every query string in a Grafana dashboard's JSON."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in QUERY_KEYS and isinstance(value, str):
                yield value
            else:
                yield from dashboard_queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_queries(item)


def texts_of(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        try:
            return list(dashboard_queries(json.loads(text)))
        except json.JSONDecodeError as error:
            sys.exit(f"FAIL: {path} is not valid JSON: {error}")
    return [text]


def problems_in(text, series):
    for name in NAME.findall(text):
        if name not in series:
            yield f"{name}: no such series"
    for name, matchers in SELECTOR.findall(text):
        if name not in series:
            continue
        for label, op, value in MATCHER.findall(matchers):
            if label in PROMETHEUS_LABELS:
                continue
            values = series[name].get(label)
            if values is None:
                yield f'{name}{{{label}}}: no series of {name} has label "{label}"'
            elif op == "=" and value not in values:
                yield (f'{name}{{{label}="{value}"}}: {label} is one of '
                       f'{sorted(values)}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exposition", action="append", required=True)
    parser.add_argument("--uses", action="append", required=True)
    args = parser.parse_args()

    series = {}
    for path in args.exposition:
        read_exposition(path, series)
    failed = False
    used = set()
    for path in args.uses:
        problems = set()
        for text in texts_of(path):
            used.update(NAME.findall(text))
            problems.update(problems_in(text, series))
        for problem in sorted(problems):
            print(f"MISSING in the exposition, used by {path}: {problem}")
            failed = True
    if not used:
        sys.exit(f"FAIL: no corosched_ metric found in {', '.join(args.uses)}")
    if failed:
        return 1
    print(f"OK: the {len(used)} metric names used in {', '.join(args.uses)} are all "
          f"in the exposition ({len(series)} series names)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
