#!/usr/bin/env bash
# Runs the executor benchmarks side by side with the Tokio baseline and prints a
# markdown table: benchmark | workers | corosched | tokio | ratio.
#
# The ratio is always "bigger is better for Corosched": corosched/tokio for
# throughput, tokio/corosched for latency. Both sides report the best of 3
# repetitions after a warm-up (highest throughput; for latency, the repetition
# with the lowest p99).
#
# Usage: bench/run.sh [--quick] [--build-dir DIR] [--keep DIR]
#   --quick       small workloads: a smoke test, not a measurement
#   --build-dir   CMake build tree holding bench/executor_bench (default: build)
#   --keep DIR    also write the raw outputs (tokio.jsonl, corosched.json) to DIR
#
# The Tokio baseline builds offline against Debian's vendored crates
# (bench/tokio/.cargo/config.toml). The C++ side is rebuilt if DIR has been
# configured; configure it once with
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="build"
keep_dir=""
quick=()

while (($#)); do
  case "$1" in
    --quick) quick=(--quick) ;;
    --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift ;;
    --keep) keep_dir="${2:?--keep needs a directory}"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

cd "$repo_root"
[[ "$build_dir" = /* ]] || build_dir="$repo_root/$build_dir"
out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT

log() { echo "run.sh: $*" >&2; }
# Other work on the machine skews every figure; the table says how busy it was.
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# Tokio. Cargo reads .cargo/config.toml from the working directory, so build
# from inside bench/tokio for the offline source replacement to apply.
log "building the Tokio baseline (offline)"
(cd bench/tokio && cargo build --release --offline --quiet)
log "running the Tokio baseline${quick:+ (quick)}; a full run takes about 35 s"
bench/tokio/target/release/tokio-baseline "${quick[@]}" >"$out_dir/tokio.jsonl"

# Corosched.
cxx_bench="$build_dir/bench/executor_bench"
if [[ -f "$build_dir/CMakeCache.txt" ]]; then
  build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")"
  if [[ "$build_type" != "Release" && "$build_type" != "RelWithDebInfo" ]]; then
    log "warning: $build_dir is a '${build_type:-no build type}' build; figures" \
      "from it are not comparable (configure with -DCMAKE_BUILD_TYPE=Release)"
  fi
  log "building executor_bench in $build_dir"
  cmake --build "$build_dir" --target executor_bench -j "$(nproc)" >&2 ||
    log "could not build executor_bench; using what is in $build_dir, if anything"
fi
if [[ -x "$cxx_bench" ]]; then
  log "running $cxx_bench"
  "$cxx_bench" --benchmark_format=json "${quick[@]}" >"$out_dir/corosched.json"
else
  log "$cxx_bench not found: printing the Tokio column only"
fi

if [[ -n "$keep_dir" ]]; then
  mkdir -p "$keep_dir"
  cp "$out_dir"/* "$keep_dir"/
fi

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out_dir/tokio.jsonl" "$out_dir/corosched.json" "$cxx_bench" \
  "$load_before" "$load_after" <<'PY'
import json
import os
import sys

tokio_path, cxx_path, cxx_bench, load_before, load_after = sys.argv[1:6]

# Google Benchmark function -> (workload, counter, unit). Latency rows carry
# two counters and are split into p50 and p99 rows.
CXX_NAMES = {
    "BM_SpawnInside": "spawn_inside",
    "BM_SpawnForeign": "spawn_foreign",
    "BM_SelfWake": "self_wake",
    "BM_PingPong": "ping_pong",
    "BM_WakeLatency": "wake_latency",
}
ROWS = [  # (row label, workload, key, unit, higher_is_better)
    ("spawn_inside", "spawn_inside", "tasks_per_s", "tasks/s", True),
    ("spawn_foreign", "spawn_foreign", "tasks_per_s", "tasks/s", True),
    ("self_wake", "self_wake", "wakes_per_s", "wakes/s", True),
    ("ping_pong", "ping_pong", "round_trips_per_s", "round trips/s", True),
    ("wake_latency p50", "wake_latency", "p50_us", "us", False),
    ("wake_latency p99", "wake_latency", "p99_us", "us", False),
]
TOKIO_KEY = {"tasks/s": "tasks_per_s", "wakes/s": "wakes_per_s",
             "round_trips/s": "round_trips_per_s"}


def load_tokio(path):
    """{(workload, workers): {key: value}} from tokio-baseline's JSON lines."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            vals = out.setdefault((r["bench"], r["workers"]), {})
            if "value" in r:
                vals[TOKIO_KEY[r["unit"]]] = r["value"]
            for key in ("p50_us", "p99_us"):
                if key in r:
                    vals[key] = r[key]
    return out


def parse_args(run_name):
    """'BM_X/workers:2/metrics:1/iterations:1/real_time' -> ('BM_X', {...})."""
    parts = run_name.split("/")
    args = {}
    for part in parts[1:]:
        key, sep, value = part.partition(":")
        if sep and value.isdigit():
            args[key] = int(value)
    return parts[0], args


def best(reps, key):
    """Best repetition: the highest rate, the lowest CPU time per op, or for
    latency the repetition with the lowest p99."""
    if key in ("p50_us", "p99_us"):
        return min(reps, key=lambda r: r["p99_us"])[key]
    if key == "cpu_ns_per_op":
        return min(r[key] for r in reps)
    return max(r[key] for r in reps)


def load_cxx(path):
    """({(workload, workers, metrics): {key: best}}, bytes_per_task or None)."""
    with open(path) as f:
        doc = json.load(f)
    groups, memory = {}, []
    for b in doc.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        func, args = parse_args(b["run_name"])
        if func == "BM_ParkedTaskMemory" and "bytes_per_task" in b:
            memory.append(b)
        elif func in CXX_NAMES:
            key = (CXX_NAMES[func], args.get("workers", 0), args.get("metrics", 0))
            groups.setdefault(key, []).append(b)
    out = {}
    for key, reps in groups.items():
        out[key] = {k: best(reps, k) for k in
                    ("tasks_per_s", "wakes_per_s", "round_trips_per_s",
                     "p50_us", "p99_us", "cpu_ns_per_op")
                    if all(k in r for r in reps)}
    return out, memory


def fmt(value, unit):
    if value is None:
        return "-"
    if unit == "us":
        return f"{value:.1f} us"
    return f"{value / 1e6:.2f} M {unit}"


def ratio(cxx, tokio, higher_is_better):
    if cxx is None or tokio is None or cxx == 0 or tokio == 0:
        return "-"
    return f"{(cxx / tokio) if higher_is_better else (tokio / cxx):.2f}x"


tokio = load_tokio(tokio_path)
workers = sorted({w for (_, w) in tokio})
have_cxx = os.path.exists(cxx_path) and os.path.getsize(cxx_path) > 0
cxx, memory = load_cxx(cxx_path) if have_cxx else ({}, [])
if have_cxx:
    workers = sorted(set(workers) | {w for (_, w, _) in cxx})

if have_cxx:
    print("| benchmark | workers | corosched | tokio | ratio |")
    print("|---|---:|---:|---:|---:|")
else:
    print(f"(no Corosched figures: {cxx_bench} was not found)\n")
    print("| benchmark | workers | tokio |")
    print("|---|---:|---:|")
for label, workload, key, unit, higher in ROWS:
    for w in workers:
        t = tokio.get((workload, w), {}).get(key)
        if not have_cxx:
            print(f"| {label} | {w} | {fmt(t, unit)} |")
            continue
        c = cxx.get((workload, w, 0), {}).get(key)
        print(f"| {label} | {w} | {fmt(c, unit)} | {fmt(t, unit)} | "
              f"{ratio(c, t, higher)} |")

observed = sorted(k for k in cxx if k[2] == 1)
if observed:
    print("\nMetrics observer overhead (Corosched with vs without core/metrics' "
          "ExecutorMetrics; positive = costlier with metrics). The CPU column "
          "compares process CPU time per op, which other load on the machine "
          "barely moves; the wall-clock column is the one the load skews.\n")
    print("| benchmark | workers | without metrics | with metrics | overhead (wall) "
          "| CPU ns/op without | with | overhead (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, workload, key, unit, higher in ROWS:
        for w in workers:
            off = cxx.get((workload, w, 0), {})
            on = cxx.get((workload, w, 1), {})
            if not off.get(key) or not on.get(key):
                continue
            cost = (off[key] / on[key] - 1) if higher else (on[key] / off[key] - 1)
            cpu_off, cpu_on = off.get("cpu_ns_per_op"), on.get("cpu_ns_per_op")
            cpu = ("| - | - | - |" if not cpu_off or not cpu_on else
                   f"| {cpu_off:.0f} | {cpu_on:.0f} | {(cpu_on / cpu_off - 1) * 100:+.1f}% |")
            print(f"| {label} | {w} | {fmt(off[key], unit)} | {fmt(on[key], unit)} | "
                  f"{cost * 100:+.1f}% {cpu}")

if memory:
    # One line per way of parking (the "notify" argument), best repetition.
    print("\nParked task memory (Corosched, heap bytes per parked task beyond "
          "sizeof(the future)):\n")
    variants = {}
    for m in memory:
        _, args = parse_args(m["run_name"])
        variants.setdefault(args.get("notify", 0), []).append(m)
    how = {0: "future holding its own waker", 1: "awaiting a Notify"}
    for notify, reps in sorted(variants.items()):
        best_rep = min(reps, key=lambda r: r["bytes_per_task"])
        print(f"- {how.get(notify, notify)}: {best_rep['bytes_per_task']:.0f} bytes "
              f"(future: {best_rep.get('future_bytes', 0):.0f} bytes)")

print(f"\nLoad average (1, 5, 15 min) before the run: {load_before}; after: "
      f"{load_after}.")
PY
