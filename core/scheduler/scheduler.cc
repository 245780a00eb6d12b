#include "core/scheduler/scheduler.h"

#include <cassert>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/scheduler/worker.h"
#include "core/task/harness.h"

namespace corosched::internal {
namespace {

// Decides, per waking thread, which wakes are timestamped for the
// schedule-delay sample (see ExecutorObserver).
thread_local unsigned tls_wake_tick = 0;

}  // namespace

Scheduler::Scheduler(int workers, size_t max_tasks, ExecutorObserver* observer,
                     int park_yields)
    : max_tasks_(max_tasks), observer_(observer), idle_(workers) {
  workers_.reserve(workers);
  for (int i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(this, i, park_yields));
  }
}

Scheduler::~Scheduler() {
  assert(shutting_down_.load(std::memory_order_relaxed));
}

void Scheduler::Start() {
  for (auto& worker : workers_) worker->Start();
}

absl::Status Scheduler::Admit() {
  const size_t previous = live_.fetch_add(1, std::memory_order_seq_cst);
  if (previous < max_tasks_) return absl::OkStatus();
  ReleaseAdmission();
  return absl::ResourceExhaustedError(
      absl::StrCat("executor is at its admission bound of ", max_tasks_,
                   " live tasks; retry after some finish, or raise the bound"));
}

absl::Status Scheduler::Bind(TaskHeader* task) {
  if (owned_.Bind(task)) return absl::OkStatus();
  // Never published: nobody else holds a reference, so free it directly.
  task->vtable->dealloc(task);
  ReleaseAdmission();
  return absl::FailedPreconditionError(
      "executor is shutting down and accepts no new tasks");
}

void Scheduler::ReleaseAdmission() {
  if (live_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
      shutting_down_.load(std::memory_order_seq_cst)) {
    absl::MutexLock lock(&shutdown_mu_);
    no_live_tasks_.SignalAll();
  }
}

bool Scheduler::Release(TaskHeader* task) {
  const bool listed = owned_.Remove(task);
  ReleaseAdmission();
  return listed;
}

namespace {
// The scheduler whose quiet spawns this thread is making, and how many.
thread_local const Scheduler* tls_quiet_scheduler = nullptr;
thread_local int tls_quiet_spawns = 0;
}  // namespace

void Scheduler::BeginQuietSpawns() {
  assert(Worker::Current() == nullptr && tls_quiet_scheduler == nullptr);
  tls_quiet_scheduler = this;
  tls_quiet_spawns = 0;
}

void Scheduler::EndQuietSpawns() {
  assert(tls_quiet_scheduler == this);
  tls_quiet_scheduler = nullptr;
  // As after any spawn: the woken worker, finding work, wakes the next.
  NotifyParked();
}

void Scheduler::Schedule(TaskHeader* task, bool is_yield) {
  if (observer_ != nullptr) {
    task->queued_at_ns = (++tls_wake_tick % ExecutorObserver::kSampleEvery == 0)
                             ? absl::GetCurrentTimeNanos()
                             : 0;
  }
  Worker* worker = Worker::Current();
  if (worker != nullptr && worker->scheduler() == this) {
    worker->ScheduleLocal(task, is_yield);
    return;
  }
  inject_.Push(task);
  if (tls_quiet_scheduler == this &&
      ++tls_quiet_spawns % kQuietSpawnsPerNotify != 0) {
    return;  // EndQuietSpawns, or the next multiple, wakes a worker
  }
  NotifyParked();
}

void Scheduler::NotifyParked() {
  if (std::optional<int> index = idle_.WorkerToNotify()) {
    workers_[*index]->Unpark();
  }
}

void Scheduler::NotifyParkedForLocalWork() {
  // No fence before this look at the idle state: a worker parking right now
  // may be missed (its own fence and re-check may miss our push too, the
  // store-buffer race the fences exist for). Nothing is lost then: the task
  // sits in the queue of a running worker, which polls it after its current
  // poll; an overflow to the injection queue is popped by that worker too.
  // The parked worker is woken by the next push that sees it parked.
  if (idle_.MayNotifyForLocalWork()) NotifyParked();
}

void Scheduler::NotifyIfWorkPending() {
  // Pairs with the fence in Idle::NotifyShouldWakeup (see Idle's
  // invariants): after our update of the idle state, before the queues.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (auto& worker : workers_) {
    if (!worker->queue().IsEmpty()) {
      NotifyParked();
      return;
    }
  }
  if (!inject_.IsEmpty()) NotifyParked();
}

bool Scheduler::AwaitNoLiveTasks(absl::Time deadline) {
  absl::MutexLock lock(&shutdown_mu_);
  while (live_.load(std::memory_order_seq_cst) != 0) {
    if (no_live_tasks_.WaitWithDeadline(&shutdown_mu_, deadline)) {
      return live_.load(std::memory_order_seq_cst) == 0;
    }
  }
  return true;
}

// Shutdown, step by step:
//  1. Close the owned list: every later Spawn fails, and every task that
//     exists is listed (or already finished).
//  2. kDrain: wait for the tasks to finish, up to the drain timeout.
//  3. Sweep the list: idle tasks are cancelled here and now; running ones
//     are marked and cancel themselves when their poll returns.
//  4. Wait until no task is live (the running ones have cancelled).
//  5. Stop and join the workers; each drops its stale queue entries.
//  6. Drop stale entries left in the injection queue.
void Scheduler::Shutdown(ShutdownMode mode, absl::Duration drain_timeout) {
  if (shutting_down_.exchange(true, std::memory_order_seq_cst)) return;
  assert(Worker::Current() == nullptr);
  owned_.Close();
  if (mode == ShutdownMode::kDrain) {
    AwaitNoLiveTasks(absl::Now() + drain_timeout);
  }
  while (TaskHeader* task = owned_.PopAny()) ShutdownTask(task);
  AwaitNoLiveTasks(absl::InfiniteFuture());
  stopping_.store(true, std::memory_order_release);
  for (auto& worker : workers_) worker->Unpark();
  for (auto& worker : workers_) worker->Join();
  while (TaskHeader* task = inject_.Pop()) RunTask(task);
}

ExecutorStats Scheduler::Stats() const {
  ExecutorStats stats;
  stats.live_tasks = live_.load(std::memory_order_relaxed);
  stats.max_tasks = max_tasks_;
  stats.injection_queue_depth = inject_.Len();
  for (const auto& worker : workers_) {
    stats.worker_queue_depths.push_back(worker->queue().Len());
    stats.polls += worker->polls();
    stats.steals += worker->steals();
    stats.parks += worker->parks();
  }
  return stats;
}

}  // namespace corosched::internal
