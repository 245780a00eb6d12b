#pragma once

// Corosched's executor: the seed's Future / Waker / Executor / Spawner
// design as a multi-threaded, work-stealing runtime. This is the one header
// users of core/ include.
//
//   auto executor = corosched::Executor::Create({.workers = 2}).value();
//   auto handle = executor->Spawn(HelloFuture()).value();
//   absl::Status done = std::move(handle).Wait();
//
// Guarantees (each tested in core/executor_test.cc and the stress tests):
//   - a wake during a poll causes exactly one more poll after it;
//   - a task is never polled by two workers at once;
//   - no wake is lost: a wake after a task's last Pending always leads to
//     another poll;
//   - no task is freed while a Waker or JoinHandle refers to it;
//   - a wake after completion does nothing;
//   - at most `max_tasks` tasks are live; past that Spawn fails with
//     RESOURCE_EXHAUSTED at once, and waking an admitted task never blocks.

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/coro/co.h"
#include "core/scheduler/observer.h"
#include "core/scheduler/scheduler.h"
#include "core/sync/channel.h"
#include "core/sync/notify.h"
#include "core/sync/oneshot.h"
#include "core/task/block_on.h"
#include "core/task/future.h"
#include "core/task/join_handle.h"
#include "core/time/clock.h"
#include "core/time/sleep.h"
#include "core/time/timer_driver.h"

namespace corosched {

struct ExecutorOptions {
  // Worker threads; 0 means one per hardware thread.
  int workers = 0;
  // The admission bound: live (spawned, unfinished) tasks at most.
  size_t max_tasks = size_t{1} << 20;
  // Time source for timers; nullptr means the real clock. Not owned; must
  // outlive the executor.
  Clock* clock = nullptr;
  // Metrics hooks; nullptr for none. Not owned; must outlive the executor.
  ExecutorObserver* observer = nullptr;
  // sched_yield calls a worker with nothing to run makes, after spinning
  // briefly and before it sleeps. 0 (the default) suits an executor that
  // has its cores to itself: the lowest wake-up latency. A process whose
  // other threads feed the workers on the same cores (the daemon's gRPC
  // threads) lets them run first this way, and its workers often find the
  // next task without a sleep and wake-up (two context switches).
  int park_yields = 0;
};

// A cheap, copyable handle that spawns onto an executor from any thread,
// even after the executor is gone (then Spawn fails with
// FAILED_PRECONDITION instead of touching freed memory).
class Spawner {
 public:
  template <Future F>
  absl::StatusOr<JoinHandle<typename F::Output>> Spawn(F future) const {
    return scheduler_->Spawn(std::move(future));
  }

 private:
  friend class Executor;
  explicit Spawner(std::shared_ptr<internal::Scheduler> scheduler)
      : scheduler_(std::move(scheduler)) {}

  std::shared_ptr<internal::Scheduler> scheduler_;
};

// Owns the worker threads, the run queues and the timer driver.
//
// Create() turns off absl::Mutex's debug deadlock detection for the process
// (Debian's Abseil leaves it on; it costs more than the scheduling itself).
//
// Thread-safety: every method may be called from any thread, including
// from tasks, except Shutdown and the destructor, which must not run on one
// of this executor's workers.
class Executor {
 public:
  static absl::StatusOr<std::unique_ptr<Executor>> Create(
      ExecutorOptions options);
  // Shuts down with kCancel if Shutdown was not called.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Admits and queues a task. RESOURCE_EXHAUSTED past the admission bound;
  // FAILED_PRECONDITION once shutdown began. Never blocks.
  template <Future F>
  absl::StatusOr<JoinHandle<typename F::Output>> Spawn(F future) {
    return scheduler_->Spawn(std::move(future));
  }
  // Spawns a task that starts being polled at `start` (a delayed start;
  // it holds its admission slot meanwhile).
  template <Future F>
  absl::StatusOr<JoinHandle<typename F::Output>> SpawnAt(absl::Time start,
                                                         F future) {
    return Spawn(DelayedStart<F>(SleepUntil(start), std::move(future)));
  }

  Spawner spawner() const { return Spawner(scheduler_); }

  // While one is alive, tasks this thread spawns are queued without waking
  // a worker for each (a worker is woken every 256 and when it ends): for
  // spawning very many tasks at once from outside the executor, such as
  // the tasks a daemon resumes at start-up. Not from a worker; not nested.
  //
  //   {
  //     Executor::SpawnBatch batch(executor);
  //     for (...) executor.Spawn(...);
  //   }  // every task is now queued and a worker awake
  class SpawnBatch {
   public:
    explicit SpawnBatch(Executor& executor)
        : scheduler_(executor.scheduler_.get()) {
      scheduler_->BeginQuietSpawns();
    }
    ~SpawnBatch() { scheduler_->EndQuietSpawns(); }
    SpawnBatch(const SpawnBatch&) = delete;
    SpawnBatch& operator=(const SpawnBatch&) = delete;

   private:
    internal::Scheduler* const scheduler_;
  };

  Sleep SleepUntil(absl::Time deadline) {
    return Sleep(timers_.get(), deadline);
  }
  Sleep SleepFor(absl::Duration duration) {
    return SleepUntil(clock_->Now() + duration);
  }
  template <Future F>
  Timeout<F> WithTimeout(F future, absl::Duration timeout) {
    return Timeout<F>(std::move(future), SleepFor(timeout));
  }

  Clock* clock() const { return clock_; }
  TimerDriver& timers() const { return *timers_; }
  // The scheduler's figures, with the timer driver's fired timers as
  // timer_wakes.
  ExecutorStats Stats() const;

  // Stops admission, then drains or cancels the unfinished tasks (see
  // ShutdownMode), and joins every thread. In kDrain mode tasks still
  // running after `drain_timeout` are cancelled. Idempotent.
  void Shutdown(ShutdownMode mode,
                absl::Duration drain_timeout = absl::InfiniteDuration());

 private:
  Executor(ExecutorOptions options, Clock* clock);

  Clock* const clock_;
  std::unique_ptr<TimerDriver> timers_;
  std::shared_ptr<internal::Scheduler> scheduler_;
};

}  // namespace corosched
