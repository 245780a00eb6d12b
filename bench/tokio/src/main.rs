//! tokio-baseline: the Tokio figures the Corosched executor is compared against.
//!
//! Runs five workloads on Tokio's multi-threaded runtime with a given number of
//! worker threads and prints one JSON object per line on stdout:
//!
//!   spawn_inside   a task spawns N no-op tasks, then awaits every JoinHandle.
//!   spawn_foreign  a plain (non-runtime) thread calls `Handle::spawn` N times,
//!                  then joins every JoinHandle from that same thread through
//!                  `Handle::block_on` (the joining future is polled on the
//!                  foreign thread, never on a worker).
//!   self_wake      10,000 tasks, each a hand-written Future that calls
//!                  `wake_by_ref()` and returns Pending 100 times, then Ready.
//!   ping_pong      two tasks bounce a token through two `tokio::sync::mpsc`
//!                  channels of capacity 1; one round trip = send + reply.
//!   wake_latency   a task parked on `Notify::notified()` is woken by
//!                  `notify_one()` from a plain thread; the sample is the time
//!                  from just before `notify_one()` to the first statement the
//!                  task runs after its await. Between samples the plain thread
//!                  sleeps ~200 us so the workers park.
//!
//! Method: each workload runs once as a warm-up, then 3 times; throughput is the
//! best (highest) of the 3, latency is the repetition with the lowest p99 (its
//! p50 and p99 are reported together). The timed region excludes runtime start.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, Notify};

const REPETITIONS: usize = 3;

/// Sizes of the workloads; `--quick` shrinks them for a smoke run.
#[derive(Clone, Copy)]
struct Sizes {
    spawn_tasks: usize,
    self_wake_tasks: usize,
    wakes_per_task: u32,
    round_trips: usize,
    latency_samples: usize,
    idle_gap: Duration,
}

impl Sizes {
    fn full() -> Self {
        Sizes {
            spawn_tasks: 1_000_000,
            self_wake_tasks: 10_000,
            wakes_per_task: 100,
            round_trips: 1_000_000,
            latency_samples: 10_000,
            idle_gap: Duration::from_micros(200),
        }
    }

    fn quick() -> Self {
        Sizes {
            spawn_tasks: 10_000,
            self_wake_tasks: 100,
            wakes_per_task: 100,
            round_trips: 10_000,
            latency_samples: 200,
            idle_gap: Duration::from_micros(200),
        }
    }
}

/// The seed's self-waking state machine: Pending `remaining` times, then Ready.
struct SelfWake {
    remaining: u32,
}

impl Future for SelfWake {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.remaining == 0 {
            return Poll::Ready(());
        }
        self.remaining -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs `body` on a worker (as a spawned task) and returns the elapsed time it
/// reports; the caller's thread only waits.
fn on_worker<F>(rt: &Runtime, body: F) -> Duration
where
    F: Future<Output = Duration> + Send + 'static,
{
    rt.block_on(rt.spawn(body))
        .expect("benchmark task panicked")
}

fn spawn_inside(rt: &Runtime, sizes: Sizes) -> f64 {
    let n = sizes.spawn_tasks;
    let elapsed = on_worker(rt, async move {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            handles.push(tokio::spawn(async {}));
        }
        for handle in handles {
            handle.await.expect("no-op task panicked");
        }
        start.elapsed()
    });
    n as f64 / elapsed.as_secs_f64()
}

fn spawn_foreign(rt: &Runtime, sizes: Sizes) -> f64 {
    let n = sizes.spawn_tasks;
    let handle = rt.handle().clone();
    // This thread is the runtime's creator, not one of its workers.
    let start = Instant::now();
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        handles.push(handle.spawn(async {}));
    }
    handle.block_on(async move {
        for h in handles {
            h.await.expect("no-op task panicked");
        }
    });
    n as f64 / start.elapsed().as_secs_f64()
}

fn self_wake(rt: &Runtime, sizes: Sizes) -> f64 {
    let (tasks, wakes) = (sizes.self_wake_tasks, sizes.wakes_per_task);
    let elapsed = on_worker(rt, async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| tokio::spawn(SelfWake { remaining: wakes }))
            .collect();
        for handle in handles {
            handle.await.expect("self-wake task panicked");
        }
        start.elapsed()
    });
    (tasks as f64 * wakes as f64) / elapsed.as_secs_f64()
}

fn ping_pong(rt: &Runtime, sizes: Sizes) -> f64 {
    let n = sizes.round_trips;
    let elapsed = on_worker(rt, async move {
        let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
        let ponger = tokio::spawn(async move {
            while let Some(v) = ping_rx.recv().await {
                if pong_tx.send(v).await.is_err() {
                    break;
                }
            }
        });
        let pinger = tokio::spawn(async move {
            let start = Instant::now();
            for i in 0..n as u64 {
                ping_tx.send(i).await.expect("ponger gone");
                let v = pong_rx.recv().await.expect("ponger gone");
                debug_assert_eq!(v, i);
            }
            start.elapsed()
        });
        let elapsed = pinger.await.expect("pinger panicked");
        ponger.await.expect("ponger panicked");
        elapsed
    });
    n as f64 / elapsed.as_secs_f64()
}

/// Returns (p50, p99) in microseconds.
fn wake_latency(rt: &Runtime, sizes: Sizes) -> (f64, f64) {
    let n = sizes.latency_samples;
    let notify = Arc::new(Notify::new());
    let (woke_tx, woke_rx) = std::sync::mpsc::channel::<Instant>();
    let waiter = {
        let notify = notify.clone();
        rt.spawn(async move {
            for _ in 0..n {
                notify.notified().await;
                let woke = Instant::now();
                // Unbounded std channel: never blocks the worker.
                if woke_tx.send(woke).is_err() {
                    return;
                }
            }
        })
    };
    let mut samples_ns = Vec::with_capacity(n);
    for _ in 0..n {
        // The waiter re-parks within microseconds of its previous send, so
        // after this sleep it is parked and every worker is idle.
        std::thread::sleep(sizes.idle_gap);
        let before = Instant::now();
        notify.notify_one();
        let woke = woke_rx.recv().expect("waiter task ended early");
        samples_ns.push(woke.saturating_duration_since(before).as_nanos() as u64);
    }
    rt.block_on(waiter).expect("waiter panicked");
    samples_ns.sort_unstable();
    (
        percentile_us(&samples_ns, 0.50),
        percentile_us(&samples_ns, 0.99),
    )
}

/// Nearest-rank percentile of sorted nanosecond samples, in microseconds.
fn percentile_us(sorted_ns: &[u64], p: f64) -> f64 {
    let rank = ((p * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len());
    sorted_ns[rank - 1] as f64 / 1e3
}

fn best_rate(rt: &Runtime, sizes: Sizes, bench: fn(&Runtime, Sizes) -> f64) -> f64 {
    bench(rt, sizes); // warm-up
    (0..REPETITIONS)
        .map(|_| bench(rt, sizes))
        .fold(0.0, f64::max)
}

fn best_latency(rt: &Runtime, sizes: Sizes) -> (f64, f64) {
    wake_latency(rt, sizes); // warm-up
    (0..REPETITIONS)
        .map(|_| wake_latency(rt, sizes))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("at least one repetition")
}

const BENCHES: [&str; 5] = [
    "spawn_inside",
    "spawn_foreign",
    "self_wake",
    "ping_pong",
    "wake_latency",
];

fn run(workers: usize, sizes: Sizes, benches: &[String]) {
    let rt = Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("cannot start the Tokio runtime");
    for bench in benches {
        let line_head = format!(r#"{{"impl":"tokio","bench":"{bench}","workers":{workers}"#);
        let (rate, unit) = match bench.as_str() {
            "spawn_inside" => (best_rate(&rt, sizes, spawn_inside), "tasks/s"),
            "spawn_foreign" => (best_rate(&rt, sizes, spawn_foreign), "tasks/s"),
            "self_wake" => (best_rate(&rt, sizes, self_wake), "wakes/s"),
            "ping_pong" => (best_rate(&rt, sizes, ping_pong), "round_trips/s"),
            "wake_latency" => {
                let (p50, p99) = best_latency(&rt, sizes);
                println!(r#"{line_head},"p50_us":{p50:.2},"p99_us":{p99:.2},"unit":"us"}}"#);
                continue;
            }
            _ => unreachable!("benchmark names are validated in main"),
        };
        println!(r#"{line_head},"value":{rate:.4e},"unit":"{unit}"}}"#);
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: tokio-baseline [--workers 1,2] [--bench name,...] [--quick]\n  \
         benchmarks: {}",
        BENCHES.join(", ")
    );
    std::process::exit(2);
}

fn parse_list(value: Option<String>) -> Vec<String> {
    let value = value.unwrap_or_else(|| usage());
    value.split(',').map(str::to_owned).collect()
}

fn main() {
    let mut workers: Vec<usize> = vec![1, 2];
    let mut benches: Vec<String> = BENCHES.iter().map(|s| s.to_string()).collect();
    let mut sizes = Sizes::full();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => sizes = Sizes::quick(),
            "--workers" => {
                workers = parse_list(args.next())
                    .iter()
                    .map(|w| match w.parse::<usize>() {
                        Ok(n) if n > 0 => n,
                        _ => usage(),
                    })
                    .collect()
            }
            "--bench" => benches = parse_list(args.next()),
            _ => usage(),
        }
    }
    if let Some(bad) = benches.iter().find(|b| !BENCHES.contains(&b.as_str())) {
        eprintln!("unknown benchmark {bad:?}");
        usage();
    }
    for w in workers {
        run(w, sizes, &benches);
    }
}
