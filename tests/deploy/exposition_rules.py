#!/usr/bin/env python3
"""Checks a corosched-server /metrics text against the conventions of our metrics that
promtool does not check:

    exposition_rules.py daemon.prom

- every metric docs/operations.md documents is there (REQUIRED);
- every family of ours starts with corosched_ (prometheus-cpp's own exposer_* families,
  which its HTTP server always adds, are the one exception);
- every *_seconds histogram has the shared latency buckets, 1 us to 10 s, then +Inf;
  the work histograms (corosched_work_*_seconds) go on past them to an hour, since work
  runs for minutes;
- labels are low-cardinality: no id-like label name, no value that looks like a task id
  (the daemon's ids are 24 hex digits), at most MAX_SERIES series per family.
Exit status 1 lists every break.
"""
import re
import sys

REQUIRED = {
    "corosched_build_info": "gauge",
    "corosched_run_queue_depth": "gauge",
    "corosched_worker_queue_depth": "gauge",
    "corosched_tasks": "gauge",
    "corosched_admission_capacity": "gauge",
    "corosched_admission_in_use": "gauge",
    "corosched_tasks_submitted_total": "counter",
    "corosched_tasks_finished_total": "counter",
    "corosched_wakes_total": "counter",
    "corosched_buffered_wakes": "gauge",
    "corosched_schedule_delay_seconds": "histogram",
    "corosched_poll_duration_seconds": "histogram",
    "corosched_task_duration_seconds": "histogram",
    "corosched_grpc_request_duration_seconds": "histogram",
    "corosched_store_commit_duration_seconds": "histogram",
    "corosched_store_commit_batch_size": "histogram",
    "corosched_work_queue_depth": "gauge",
    "corosched_work_oldest_item_age_seconds": "gauge",
    "corosched_work_pollers": "gauge",
    "corosched_work_leased": "gauge",
    "corosched_work_items_queued_total": "counter",
    "corosched_work_schedule_to_start_seconds": "histogram",
    "corosched_work_run_duration_seconds": "histogram",
    "corosched_work_attempts_total": "counter",
    "corosched_work_lease_expiries_total": "counter",
    "corosched_namespace_tasks": "gauge",
    "corosched_namespace_submits_total": "counter",
    "corosched_auth_denials_total": "counter",
    "corosched_auth_reloads_total": "counter",
    "corosched_cluster_owned_tasks": "gauge",
    "corosched_cluster_claims_total": "counter",
    "corosched_cluster_lease_lost_total": "counter",
    "corosched_cluster_lease_renewal_failures_total": "counter",
    "corosched_cluster_inbox_delivered_total": "counter",
}
LATENCY_BOUNDS = [
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3,
    1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf")]
WORK_BOUNDS = LATENCY_BOUNDS[:-1] + [30, 60, 120, 300, 600, 1800, 3600, float("inf")]
WORK_HISTOGRAM = re.compile(r"^corosched_work_\w+_seconds$")
ID_LABELS = {"id", "task_id", "task", "request_id", "idempotency_key"}
TASK_ID = re.compile(r"^[0-9a-f]{24}$")
MAX_SERIES = 300  # the gRPC histogram's buckets x methods x codes seen
TYPE = re.compile(r"^# TYPE (\S+) (\S+)$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def family_of(sample_name, types):
    for suffix in ("_bucket", "_sum", "_count", ""):
        if sample_name.endswith(suffix):
            base = sample_name[: len(sample_name) - len(suffix)]
            if base in types:
                return base
    return sample_name


def problems(text):
    types, series, buckets = {}, {}, {}
    for line in text.splitlines():
        match = TYPE.match(line)
        if match:
            types[match.group(1)] = match.group(2)
            continue
        match = SAMPLE.match(line)
        if not match or line.startswith("#"):
            continue
        family = family_of(match.group(1), types)
        labels = dict(LABEL.findall(match.group(2) or ""))
        series.setdefault(family, set()).add(line.rsplit(" ", 1)[0])
        for name, value in labels.items():
            if name in ID_LABELS:
                yield f"{family}: label {name} names a single task or request"
            if TASK_ID.match(value):
                yield f"{family}: label value {value} looks like a task id"
        if match.group(1).endswith("_bucket") and "le" in labels:
            buckets.setdefault(family, set()).add(float(labels["le"]))
    for name, kind in REQUIRED.items():
        if types.get(name) != kind:
            yield f"{name}: missing, or not a {kind} (found {types.get(name)})"
    for name, kind in types.items():
        if not name.startswith(("corosched_", "exposer_")):
            yield f"{name}: not prefixed corosched_"
        if len(series.get(name, ())) > MAX_SERIES:
            yield f"{name}: {len(series[name])} series, more than {MAX_SERIES}"
        if kind == "histogram" and WORK_HISTOGRAM.match(name):
            if sorted(buckets.get(name, ())) != WORK_BOUNDS:
                yield (f"{name}: buckets {sorted(buckets.get(name, ()))}, not the "
                       "work buckets (the latency buckets, then 30 s .. 1 h)")
        elif kind == "histogram" and name.endswith("_seconds"):
            if sorted(buckets.get(name, ())) != LATENCY_BOUNDS:
                yield (f"{name}: buckets {sorted(buckets.get(name, ()))}, not the "
                       "shared 1 us .. 10 s latency buckets")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        found = sorted(set(problems(f.read())))
    for problem in found:
        print(f"FAIL: {problem}")
    if not found:
        print(f"OK: {sys.argv[1]} has every required metric, our prefix, the latency "
              "buckets and low-cardinality labels")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
