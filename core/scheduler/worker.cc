#include "core/scheduler/worker.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "core/scheduler/scheduler.h"
#include "core/task/block_on.h"
#include "core/task/harness.h"

namespace corosched::internal {
namespace {

thread_local Worker* tls_worker = nullptr;

uint64_t NextRandom(uint64_t& state) {
  // xorshift64: cheap, and only spreads where stealing starts.
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace

bool OnWorkerThread() { return tls_worker != nullptr; }

Worker* Worker::Current() { return tls_worker; }

Worker::Worker(Scheduler* scheduler, int index, int park_yields)
    : scheduler_(scheduler),
      index_(index),
      parker_(park_yields),
      rng_(0x9E3779B97F4A7C15ull * uint64_t(index + 1)) {}

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::ScheduleLocal(TaskHeader* task, bool is_yield) {
  bool should_notify = true;
  if (is_yield) {
    // A task that yields with nothing else queued here runs again on this
    // worker as soon as its poll returns: waking another worker only to
    // steal it costs a wake-up and a park (2.7 parks per hello submit in
    // the daemon with one call in flight).
    should_notify = lifo_slot_ != nullptr || !queue_.IsEmpty();
    queue_.PushBack(task, scheduler_->inject());
  } else {
    TaskHeader* previous = std::exchange(lifo_slot_, task);
    should_notify = previous != nullptr;
    if (previous != nullptr) queue_.PushBack(previous, scheduler_->inject());
  }
  // Queued work another worker could take: make sure someone is looking.
  if (should_notify) scheduler_->NotifyParkedForLocalWork();
}

void Worker::Run() {
  tls_worker = this;
  while (!scheduler_->stopping()) {
    ++tick_;
    TaskHeader* task = NextTask();
    if (task == nullptr) task = StealWork();
    if (task != nullptr) {
      RunTaskAndCount(task);
    } else {
      Park();
    }
  }
  DrainOnExit();
  tls_worker = nullptr;
}

TaskHeader* Worker::NextTask() {
  if (tick_ % kGlobalQueueInterval == 0) {
    if (TaskHeader* task = scheduler_->inject().Pop()) return task;
  }
  if (lifo_slot_ != nullptr) {
    if (lifo_polls_ < kMaxLifoPolls) {
      ++lifo_polls_;
      return std::exchange(lifo_slot_, nullptr);
    }
    // Two tasks waking each other forever must not starve the queue.
    queue_.PushBack(std::exchange(lifo_slot_, nullptr), scheduler_->inject());
  }
  lifo_polls_ = 0;
  if (TaskHeader* task = queue_.Pop()) return task;
  return PopInjectBatch();
}

TaskHeader* Worker::PopInjectBatch() {
  InjectQueue& inject = scheduler_->inject();
  const size_t queued = inject.Len();
  if (queued < kInjectBatchFrom) return inject.Pop();
  const size_t room = LocalQueue::kCapacity - queue_.Len();
  const size_t max = std::min<size_t>(
      {std::max<size_t>(queued / size_t(scheduler_->num_workers()), 1),
       LocalQueue::kCapacity / 2, room + 1});
  size_t count = 0;
  TaskHeader* first = inject.PopBatch(max, &count);
  if (count <= 1) return first;
  for (TaskHeader* task = first->queue_next; task != nullptr;) {
    TaskHeader* next = std::exchange(task->queue_next, nullptr);
    queue_.PushBack(task, inject);
    task = next;
  }
  first->queue_next = nullptr;
  // Tasks another worker could take: as after any local push.
  scheduler_->NotifyParkedForLocalWork();
  return first;
}

TaskHeader* Worker::StealWork() {
  if (!is_searching_)
    is_searching_ = scheduler_->idle().TransitionWorkerToSearching();
  if (!is_searching_) return nullptr;
  const int workers = scheduler_->num_workers();
  const int start = int(NextRandom(rng_) % uint64_t(workers));
  for (int i = 0; i < workers; ++i) {
    const int victim = (start + i) % workers;
    if (victim == index_) continue;
    if (TaskHeader* task =
            scheduler_->worker(victim).queue().StealInto(queue_)) {
      Bump(steals_);
      return task;
    }
  }
  return PopInjectBatch();
}

void Worker::RunTaskAndCount(TaskHeader* task) {
  if (is_searching_) {
    is_searching_ = false;
    // The last searcher found work: another worker should look for more,
    // if there is more. Looking first (a fence and a read of each queue)
    // keeps a futex wake-up off the way to this poll when the task was the
    // only one, as for a single wake of a parked task.
    if (scheduler_->idle().TransitionWorkerFromSearching()) {
      scheduler_->NotifyIfWorkPending();
    }
  }
  Bump(polls_);
  const int64_t queued_at = task->queued_at_ns;
  ExecutorObserver* observer = scheduler_->observer();
  if (observer == nullptr || queued_at == 0) {
    RunTask(task);
    return;
  }
  const int64_t start = absl::GetCurrentTimeNanos();
  RunTask(task);  // may free the task: read nothing from it after this
  const int64_t end = absl::GetCurrentTimeNanos();
  observer->OnPollSampled(index_, absl::Nanoseconds(start - queued_at),
                          absl::Nanoseconds(end - start));
}

// Parking protocol, as a race between this worker (W) and a pusher (P):
//  1. W finds every queue empty and records itself as parked (Idle). If it
//     was the last searcher it looks at every queue once more and, if any
//     holds work, notifies a parked worker, which may be W itself.
//  2. P pushes, then asks Idle for a worker to notify; Idle unlists the
//     worker and P unparks it. An unpark that lands before W sleeps makes
//     its Park return at once.
//  3. W wakes; if it is still listed the wake was spurious (or shutdown)
//     and it parks again, else it was notified and searches.
void Worker::Park() {
  if (lifo_slot_ != nullptr || !queue_.IsEmpty()) return;
  Bump(parks_);
  const bool last_searcher =
      scheduler_->idle().TransitionWorkerToParked(index_, is_searching_);
  is_searching_ = false;
  if (last_searcher) scheduler_->NotifyIfWorkPending();
  while (!scheduler_->stopping()) {
    parker_.Park();
    if (!scheduler_->idle().IsParked(index_)) {
      is_searching_ = true;  // WorkerToNotify counted us as searching
      return;
    }
  }
}

void Worker::DrainOnExit() {
  // Every task has finished by now (Scheduler::Shutdown waits for that), so
  // these entries are stale: running them only drops their references.
  if (lifo_slot_ != nullptr) RunTask(std::exchange(lifo_slot_, nullptr));
  while (TaskHeader* task = queue_.Pop()) RunTask(task);
}

}  // namespace corosched::internal
