// Executor benchmarks: the five workloads of the Tokio baseline
// (bench/tokio/src/main.rs, same sizes, same timed regions) on Corosched's
// executor with 1 and 2 workers, each without and with the Prometheus
// metrics observer (core/metrics), plus the memory a parked task costs.
// bench/run.sh runs both and prints the side-by-side table; docs/PERFORMANCE.md
// has the figures and targets.
//
// Method: each repetition makes a fresh executor, runs the workload once
// untimed (warm-up) and once timed; 3 repetitions, and run.sh keeps the best
// (highest rate; for latency the repetition with the lowest p99), as the
// baseline does. Counters come from the workload's own timed region, which
// starts at its first spawn; Google Benchmark's real time also covers
// starting the driver task.
//
// Flags: Google Benchmark's, plus --quick for small sizes (a smoke test).

#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "bench/bench_main.h"
#include "benchmark/benchmark.h"
#include "core/executor.h"
#include "core/metrics/executor_metrics.h"
#include "core/sync/channel.h"
#include "core/task/cell_allocator.h"
#include "core/task/task_cell.h"

namespace corosched {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Sizes {
  int spawn_tasks;
  int self_wake_tasks;
  int wakes_per_task;
  int round_trips;
  int latency_samples;
  int latency_warmup_samples;
  int parked_tasks;
};
constexpr Sizes kFullSizes = {1'000'000, 10'000, 100,    1'000'000,
                              10'000,    1'000,  100'000};
constexpr Sizes kQuickSizes = {10'000, 100, 100, 10'000, 200, 50, 10'000};
Sizes g_sizes = kFullSizes;

// Between latency samples the measuring thread sleeps this long, so the
// workers have parked before the next wake.
constexpr auto kIdleGap = std::chrono::microseconds(200);

double Seconds(SteadyClock::duration d) {
  return std::chrono::duration<double>(d).count();
}

using bench::ProcessCpuSeconds;  // shows the metrics hooks' small costs

// One timed run of a workload: `ops` operations (tasks, wakes, round trips).
struct Timed {
  double ops = 0;
  double wall_s = 0;
  double cpu_s = 0;
};

// Starts the clocks of a timed region; Stop(ops) reads them.
class Stopwatch {
 public:
  Stopwatch() : wall_(SteadyClock::now()), cpu_s_(ProcessCpuSeconds()) {}
  Timed Stop(double ops) const {
    return {ops, Seconds(SteadyClock::now() - wall_),
            ProcessCpuSeconds() - cpu_s_};
  }

 private:
  SteadyClock::time_point wall_;
  double cpu_s_;
};

// Tokio's `async {}`: Ready at the first poll.
struct NoOp {
  using Output = void;
  corosched::Poll<void> Poll(Context&) {
    return corosched::Poll<void>::Ready();
  }
};

// The seed's self-waking state machine: Pending `remaining` times, waking
// itself each time, then Ready.
class SelfWake {
 public:
  using Output = void;
  explicit SelfWake(int remaining) : remaining_(remaining) {}

  corosched::Poll<void> Poll(Context& cx) {
    if (remaining_ == 0) return corosched::Poll<void>::Ready();
    --remaining_;
    cx.waker().WakeByRef();
    return corosched::Poll<void>::Pending();
  }

 private:
  int remaining_;
};

// Runs `driver` as a task and blocks this plain thread until it finishes.
absl::StatusOr<Timed> RunDriver(Executor& executor,
                                Co<absl::StatusOr<Timed>> driver) {
  auto handle = executor.Spawn(std::move(driver));
  if (!handle.ok()) return handle.status();
  absl::StatusOr<absl::StatusOr<Timed>> joined = std::move(*handle).Wait();
  if (!joined.ok()) return joined.status();
  return *std::move(joined);
}

Co<absl::Status> JoinAll(std::vector<JoinHandle<void>>& handles) {
  for (JoinHandle<void>& handle : handles) {
    absl::Status done = co_await handle;
    if (!done.ok()) co_return done;
  }
  co_return absl::OkStatus();
}

// Spawns `count` futures made by `make` from inside a task and awaits them
// all; one op per future.
template <typename MakeFuture>
Co<absl::StatusOr<Timed>> SpawnAndJoin(Spawner spawner, int count,
                                       MakeFuture make) {
  const Stopwatch stopwatch;
  std::vector<JoinHandle<void>> handles;
  handles.reserve(count);
  for (int i = 0; i < count; ++i) {
    auto handle = spawner.Spawn(make());
    if (!handle.ok()) co_return handle.status();
    handles.push_back(*std::move(handle));
  }
  if (absl::Status done = co_await JoinAll(handles); !done.ok()) co_return done;
  co_return stopwatch.Stop(count);
}

// --- The workloads: each is one timed run. ---

absl::StatusOr<Timed> SpawnInside(Executor& executor) {
  return RunDriver(executor,
                   SpawnAndJoin(executor.spawner(), g_sizes.spawn_tasks,
                                [] { return NoOp{}; }));
}

// Spawns from this plain thread, then joins the way the baseline does: one
// future awaiting every handle in turn, driven by BlockOn on this thread.
absl::StatusOr<Timed> SpawnForeign(Executor& executor) {
  const int n = g_sizes.spawn_tasks;
  const Stopwatch stopwatch;
  std::vector<JoinHandle<void>> handles;
  handles.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto handle = executor.Spawn(NoOp{});
    if (!handle.ok()) return handle.status();
    handles.push_back(*std::move(handle));
  }
  if (absl::Status done = BlockOn(JoinAll(handles)); !done.ok()) return done;
  return stopwatch.Stop(n);
}

// One op per wake (each task is polled wakes + 1 times).
absl::StatusOr<Timed> SelfWakes(Executor& executor) {
  const int wakes = g_sizes.wakes_per_task;
  absl::StatusOr<Timed> timed = RunDriver(
      executor, SpawnAndJoin(executor.spawner(), g_sizes.self_wake_tasks,
                             [wakes] { return SelfWake(wakes); }));
  if (timed.ok()) timed->ops *= wakes;
  return timed;
}

Co<void> Ponger(ChannelReceiver<uint64_t> pings,
                ChannelSender<uint64_t> pongs) {
  for (;;) {
    std::optional<uint64_t> ping = co_await pings.Recv();
    if (!ping.has_value()) co_return;
    if (!(co_await pongs.Send(*ping)).ok()) co_return;
  }
}

// One round trip: a send on `pings` and the reply on `pongs` (capacity 1).
Co<absl::StatusOr<Timed>> Pinger(ChannelSender<uint64_t> pings,
                                 ChannelReceiver<uint64_t> pongs, int n) {
  const Stopwatch stopwatch;
  for (int i = 0; i < n; ++i) {
    if (absl::Status sent = co_await pings.Send(i); !sent.ok()) co_return sent;
    if (!(co_await pongs.Recv()).has_value()) {
      co_return absl::InternalError("ponger ended early");
    }
  }
  co_return stopwatch.Stop(n);
}

Co<absl::StatusOr<Timed>> PingPongDriver(Spawner spawner, int n) {
  auto [ping_tx, ping_rx] = MakeChannel<uint64_t>(1);
  auto [pong_tx, pong_rx] = MakeChannel<uint64_t>(1);
  auto ponger = spawner.Spawn(Ponger(std::move(ping_rx), std::move(pong_tx)));
  if (!ponger.ok()) co_return ponger.status();
  auto pinger =
      spawner.Spawn(Pinger(std::move(ping_tx), std::move(pong_rx), n));
  if (!pinger.ok()) co_return pinger.status();
  absl::StatusOr<absl::StatusOr<Timed>> timed = co_await *pinger;
  if (absl::Status done = co_await *ponger; !done.ok()) co_return done;
  if (!timed.ok()) co_return timed.status();
  co_return *std::move(timed);
}

absl::StatusOr<Timed> PingPong(Executor& executor) {
  return RunDriver(executor,
                   PingPongDriver(executor.spawner(), g_sizes.round_trips));
}

// Carries the waiter task's wake-up times to the measuring thread without
// ever blocking the task (the baseline uses std::sync::mpsc likewise).
class WokeMailbox {
 public:
  void Push(SteadyClock::time_point woke) {
    absl::MutexLock lock(&mu_);
    times_.push_back(woke);
  }
  SteadyClock::time_point Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](std::deque<SteadyClock::time_point>* times) {
          return !times->empty();
        },
        &times_));
    SteadyClock::time_point woke = times_.front();
    times_.pop_front();
    return woke;
  }

 private:
  absl::Mutex mu_;
  std::deque<SteadyClock::time_point> times_ ABSL_GUARDED_BY(mu_);
};

Co<void> Waiter(Notify& notify, WokeMailbox& mailbox, int n) {
  for (int i = 0; i < n; ++i) {
    co_await notify.Wait();
    mailbox.Push(SteadyClock::now());
  }
}

struct Percentiles {
  double p50_us;
  double p99_us;
};

// Nearest rank, as the baseline computes it.
double PercentileUs(const std::vector<int64_t>& sorted_ns, double p) {
  const double n = static_cast<double>(sorted_ns.size());
  const size_t rank = std::clamp<size_t>(static_cast<size_t>(std::ceil(p * n)),
                                         1, sorted_ns.size());
  return static_cast<double>(sorted_ns[rank - 1]) / 1e3;
}

// From just before NotifyOne() on this plain thread to the first statement
// the woken task runs, with the executor idle before every wake.
absl::StatusOr<Percentiles> WakeLatency(Executor& executor, int n) {
  Notify notify;
  WokeMailbox mailbox;
  auto waiter = executor.Spawn(Waiter(notify, mailbox, n));
  if (!waiter.ok()) return waiter.status();
  std::vector<int64_t> samples_ns;
  samples_ns.reserve(n);
  for (int i = 0; i < n; ++i) {
    std::this_thread::sleep_for(kIdleGap);
    const auto before = SteadyClock::now();
    notify.NotifyOne();
    const auto woke = mailbox.Pop();
    samples_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(woke - before)
            .count());
  }
  if (absl::Status done = std::move(*waiter).Wait(); !done.ok()) return done;
  std::sort(samples_ns.begin(), samples_ns.end());
  return Percentiles{PercentileUs(samples_ns, 0.50),
                     PercentileUs(samples_ns, 0.99)};
}

// Parks until cancelled, holding its waker the way a future waiting on an
// event source does; counts its first poll.
class ParkUntilCancelled {
 public:
  using Output = void;
  explicit ParkUntilCancelled(std::atomic<int>* parked) : parked_(parked) {}

  corosched::Poll<void> Poll(Context& cx) {
    if (waker_.empty()) {
      waker_ = cx.waker();
      parked_->fetch_add(1, std::memory_order_release);
    }
    return corosched::Poll<void>::Pending();
  }

 private:
  Waker waker_;
  std::atomic<int>* parked_;
};

// Parks on a Notify, the usual way a task waits; counts its first Pending.
class AwaitNotify {
 public:
  using Output = void;
  AwaitNotify(Notify& notify, std::atomic<int>* parked)
      : notified_(notify.Wait()), parked_(parked) {}

  corosched::Poll<void> Poll(Context& cx) {
    corosched::Poll<void> poll = notified_.Poll(cx);
    if (poll.IsPending() && !counted_) {
      counted_ = true;
      parked_->fetch_add(1, std::memory_order_release);
    }
    return poll;
  }

 private:
  Notify::Notified notified_;
  std::atomic<int>* parked_;
  bool counted_ = false;
};

// Heap bytes per parked task beyond sizeof(the future): spawns `n` futures
// made by `make`, waits until every one has parked, and reads malloc's
// in-use total before and after. Cancels them all afterwards.
//
// Task cells of up to 256 bytes come from the executor's own slabs
// (core/task/cell_allocator.h), which reuse slots freed by earlier
// benchmarks, so malloc's total would miss them: a cell is counted as its
// whole slot, and slabs carved meanwhile are taken out of malloc's total.
template <typename MakeFuture>
absl::StatusOr<double> ParkedBytesPerTask(Executor& executor, int n,
                                          const std::atomic<int>& parked,
                                          MakeFuture make) {
  std::vector<JoinHandle<void>> handles;
  handles.reserve(n);
  using internal::CellAllocator;
  const size_t before = mallinfo2().uordblks;
  const uint64_t slabs_before = CellAllocator::GetStats().slab_bytes;
  for (int i = 0; i < n; ++i) {
    auto handle = executor.Spawn(make());
    if (!handle.ok()) return handle.status();
    handles.push_back(*std::move(handle));
  }
  while (parked.load(std::memory_order_acquire) < n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const size_t after = mallinfo2().uordblks;
  const uint64_t slabs_after = CellAllocator::GetStats().slab_bytes;
  for (JoinHandle<void>& handle : handles) handle.Cancel();
  for (JoinHandle<void>& handle : handles) {
    absl::Status done = std::move(handle).Wait();
    if (!done.ok() && !absl::IsCancelled(done)) return done;
  }
  using F = decltype(make());
  const double other_heap = static_cast<double>(after) -
                            static_cast<double>(before) -
                            static_cast<double>(slabs_after - slabs_before);
  constexpr size_t kCell = sizeof(internal::TaskCell<F>);
  // A larger cell comes from malloc, so `other_heap` has it already.
  const double cell = kCell <= CellAllocator::kMaxSlot
                          ? static_cast<double>(CellAllocator::SlotBytes(kCell))
                          : 0.0;
  return other_heap / n + cell - static_cast<double>(sizeof(F));
}

// --- Google Benchmark glue ---

// Arguments: workers, metrics (0 = no observer, 1 = the Prometheus
// ExecutorMetrics, recording but never scraped during the run).
std::unique_ptr<Executor> MakeExecutor(benchmark::State& state,
                                       ExecutorObserver* observer) {
  auto executor =
      Executor::Create({.workers = static_cast<int>(state.range(0)),
                        .observer = state.range(1) != 0 ? observer : nullptr});
  if (!executor.ok()) {
    state.SkipWithError(executor.status().ToString().c_str());
    return nullptr;
  }
  return *std::move(executor);
}

// Counters: `counter` (ops per wall-clock second) and cpu_ns_per_op (process
// CPU time, every thread, per op).
void RunRate(benchmark::State& state, const char* counter,
             absl::StatusOr<Timed> (*workload)(Executor&)) {
  // Declared first so it outlives the executor that reports to it.
  ExecutorMetrics metrics(static_cast<int>(state.range(0)));
  std::unique_ptr<Executor> executor = MakeExecutor(state, &metrics);
  if (executor == nullptr) return;
  absl::StatusOr<Timed> timed = workload(*executor);  // warm-up
  for (auto _ : state) {
    const ExecutorStats before = executor->Stats();
    if (timed.ok()) timed = workload(*executor);
    if (!timed.ok()) {
      state.SkipWithError(timed.status().ToString().c_str());
      break;
    }
    const ExecutorStats after = executor->Stats();
    state.counters[counter] = timed->ops / timed->wall_s;
    state.counters["cpu_ns_per_op"] = timed->cpu_s * 1e9 / timed->ops;
    // Where the time goes when a second worker helps less than it should.
    const double kilo_ops = static_cast<double>(timed->ops) / 1e3;
    state.counters["steals_per_kop"] =
        static_cast<double>(after.steals - before.steals) / kilo_ops;
    state.counters["parks_per_kop"] =
        static_cast<double>(after.parks - before.parks) / kilo_ops;
  }
  executor->Shutdown(ShutdownMode::kDrain);
}

void BM_SpawnInside(benchmark::State& state) {
  RunRate(state, "tasks_per_s", SpawnInside);
}
void BM_SpawnForeign(benchmark::State& state) {
  RunRate(state, "tasks_per_s", SpawnForeign);
}
void BM_SelfWake(benchmark::State& state) {
  RunRate(state, "wakes_per_s", SelfWakes);
}
void BM_PingPong(benchmark::State& state) {
  RunRate(state, "round_trips_per_s", PingPong);
}

void BM_WakeLatency(benchmark::State& state) {
  ExecutorMetrics metrics(static_cast<int>(state.range(0)));
  std::unique_ptr<Executor> executor = MakeExecutor(state, &metrics);
  if (executor == nullptr) return;
  auto result = WakeLatency(*executor, g_sizes.latency_warmup_samples);
  for (auto _ : state) {
    if (result.ok()) result = WakeLatency(*executor, g_sizes.latency_samples);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      break;
    }
    state.counters["p50_us"] = result->p50_us;
    state.counters["p99_us"] = result->p99_us;
  }
  executor->Shutdown(ShutdownMode::kDrain);
}

// Argument: notify (0 = ParkUntilCancelled, 1 = AwaitNotify).
void BM_ParkedTaskMemory(benchmark::State& state) {
  const bool on_notify = state.range(0) != 0;
  const int n = g_sizes.parked_tasks;
  for (auto _ : state) {
    auto executor = Executor::Create({.workers = 2});
    if (!executor.ok()) {
      state.SkipWithError(executor.status().ToString().c_str());
      break;
    }
    Notify notify;
    std::atomic<int> parked{0};
    absl::StatusOr<double> bytes =
        on_notify
            ? ParkedBytesPerTask(**executor, n, parked,
                                 [&] { return AwaitNotify(notify, &parked); })
            : ParkedBytesPerTask(**executor, n, parked,
                                 [&] { return ParkUntilCancelled(&parked); });
    (*executor)->Shutdown(ShutdownMode::kDrain);
    if (!bytes.ok()) {
      state.SkipWithError(bytes.status().ToString().c_str());
      break;
    }
    state.counters["bytes_per_task"] = *bytes;
    state.counters["future_bytes"] = static_cast<double>(
        on_notify ? sizeof(AwaitNotify) : sizeof(ParkUntilCancelled));
  }
}

void ExecutorArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"workers", "metrics"});
  // Each pair with and without metrics runs back to back, so a change in
  // background load shifts both alike.
  for (int workers : {1, 2}) {
    for (int metrics : {0, 1}) b->Args({workers, metrics});
  }
  b->Iterations(1)->Repetitions(3)->UseRealTime()->Unit(
      benchmark::kMillisecond);
}

BENCHMARK(BM_SpawnInside)->Apply(ExecutorArgs);
BENCHMARK(BM_SpawnForeign)->Apply(ExecutorArgs);
BENCHMARK(BM_SelfWake)->Apply(ExecutorArgs);
BENCHMARK(BM_PingPong)->Apply(ExecutorArgs);
BENCHMARK(BM_WakeLatency)->Apply(ExecutorArgs);
BENCHMARK(BM_ParkedTaskMemory)
    ->ArgName("notify")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Repetitions(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace corosched

int main(int argc, char** argv) {
  return corosched::bench::RunBenchmarkMain("executor_bench", argc, argv, [] {
    corosched::g_sizes = corosched::kQuickSizes;
  });
}
