#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/scheduler/idle.h"
#include "core/scheduler/inject_queue.h"
#include "core/scheduler/observer.h"
#include "core/scheduler/owned_tasks.h"
#include "core/task/future.h"
#include "core/task/join_handle.h"
#include "core/task/task_cell.h"

namespace corosched {

// How Executor::Shutdown treats tasks that have not finished.
enum class ShutdownMode {
  // Let them run to completion (until the drain timeout), then cancel the
  // rest.
  kDrain,
  // Cancel them at once: each future is dropped at its next suspension.
  kCancel,
};

// A snapshot of the executor's load, for metrics and autoscalers.
struct ExecutorStats {
  size_t live_tasks = 0;  // admitted and not yet finished
  size_t max_tasks = 0;   // the admission bound
  size_t injection_queue_depth = 0;
  std::vector<size_t> worker_queue_depths;
  uint64_t polls = 0;
  uint64_t steals = 0;
  uint64_t parks = 0;
  // Timers that fired and woke their task (TimerDriver::NumFired), for the
  // daemon's wakes-by-source metric.
  uint64_t timer_wakes = 0;
};

namespace internal {

class Worker;

// The shared state of one multi-threaded executor: its workers, the
// injection queue, the owned-task list, admission and shutdown. Executor is
// its public face; tasks and Spawners point here.
//
// Thread-safety: all public methods from any thread.
class Scheduler {
 public:
  // `park_yields`: see ExecutorOptions.
  Scheduler(int workers, size_t max_tasks, ExecutorObserver* observer,
            int park_yields = 0);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void Start();

  template <Future F>
  absl::StatusOr<JoinHandle<typename F::Output>> Spawn(F future) {
    if (absl::Status admitted = Admit(); !admitted.ok()) return admitted;
    TaskHeader* task = TaskCell<F>::New(std::move(future), this);
    if (absl::Status bound = Bind(task); !bound.ok()) return bound;
    Schedule(task, /*is_yield=*/false);
    return JoinHandle<typename F::Output>(task);
  }

  // Queues a notified task: on the current worker's own queue when called
  // from one of this scheduler's workers, else on the injection queue.
  void Schedule(TaskHeader* task, bool is_yield);

  // Called once per task as it completes: unlists it and frees its
  // admission slot. True when the owned list's reference was handed back.
  bool Release(TaskHeader* task);

  // Stops admission, drains or cancels every task, and joins the workers.
  // Idempotent; REQUIRES: not called from a worker thread.
  void Shutdown(ShutdownMode mode, absl::Duration drain_timeout);

  ExecutorStats Stats() const;

  // Parking protocol (see Idle): wake one parked worker if nobody searches.
  void NotifyParked();
  // The same, for work a running worker queued on its own queues (a yield,
  // a wake or a spawn from inside a task). That worker runs the work itself
  // if no other does, so waking another is for parallelism only: it skips
  // the fence NotifyParked's first check needs, the cost of every yield.
  void NotifyParkedForLocalWork();

  // Between BeginQuietSpawns and EndQuietSpawns, tasks this (non-worker)
  // thread queues are pushed to the injection queue without waking a worker
  // for each: a worker is woken (as after any spawn) every
  // kQuietSpawnsPerNotify tasks and at the end, so none waits longer than
  // that many spawns or the batch. For queuing very many tasks at once
  // (recovery), where a wake-up per task costs more than the task. Not nested;
  // one scheduler per thread at a time.
  static constexpr int kQuietSpawnsPerNotify = 256;
  void BeginQuietSpawns();
  void EndQuietSpawns();
  // Called by the last searcher as it parks: any queued work left?
  void NotifyIfWorkPending();

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  Idle& idle() { return idle_; }
  InjectQueue& inject() { return inject_; }
  int num_workers() const { return int(workers_.size()); }
  Worker& worker(int index) { return *workers_[index]; }
  ExecutorObserver* observer() const { return observer_; }

 private:
  absl::Status Admit();
  absl::Status Bind(TaskHeader* task);
  void ReleaseAdmission();
  // Waits until no task is live or `deadline` passes; true when none is.
  bool AwaitNoLiveTasks(absl::Time deadline);

  const size_t max_tasks_;
  ExecutorObserver* const observer_;
  std::vector<std::unique_ptr<Worker>> workers_;
  InjectQueue inject_;
  Idle idle_;
  OwnedTasks owned_;

  // shutting_down_ also makes Shutdown idempotent (the first caller sets it).
  // seq_cst on live_ and shutting_down_: a releaser that drops live_ to 0
  // must see shutting_down_ or the shutdown thread must see live_ == 0
  // (a store-load pair, which weaker orders do not make exclusive).
  std::atomic<size_t> live_{0};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> stopping_{false};
  // Guards nothing but the wait for no_live_tasks_ (see AwaitNoLiveTasks).
  absl::Mutex shutdown_mu_;
  absl::CondVar no_live_tasks_;
};

}  // namespace internal
}  // namespace corosched
