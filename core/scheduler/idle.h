#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace corosched::internal {

// Which workers are searching for work and which are parked, so that a new
// task wakes at most one parked worker and only when nobody is already
// looking (Tokio's `idle.rs`).
//
// Invariants:
//   `state_` packs num_searching (low 32 bits) and num_unparked (high 32).
//   A worker is in `sleepers_` iff it is parked (or about to park); those
//   workers are not counted in num_unparked.
//   Whenever work is queued where no running worker is sure to find it
//   (the injection queue, from outside the workers), either a worker is
//   searching or a parked worker is notified. A pusher writes the queue,
//   then issues a seq_cst fence and reads `state_` (NotifyShouldWakeup);
//   the last searcher to stop searching, whether it parks or found a task
//   to run, updates `state_`, then issues a seq_cst fence and re-checks
//   every queue (Scheduler::NotifyIfWorkPending). The two fences are
//   totally ordered, so either the pusher sees that nobody searches and
//   notifies, or the last searcher sees the pushed work and notifies.
//   Work a running worker queues on its own queues is run by that worker
//   if no other takes it first; waking another for it is for parallelism
//   and looks at `state_` without the fence (MayNotifyForLocalWork).
//
// Thread-safety: all methods from any thread.
class Idle {
 public:
  explicit Idle(int num_workers);

  // The worker to unpark for newly queued work, or nullopt when a worker is
  // searching already or none is parked. The chosen worker is counted as
  // unparked and searching.
  std::optional<int> WorkerToNotify();

  // A cheap first look for WorkerToNotify when the work was queued on a
  // running worker's own queue: a plain load, no fence. It may miss a worker
  // that is parking at this moment; see Scheduler::NotifyParkedForLocalWork
  // for why that loses no work.
  bool MayNotifyForLocalWork() const;

  // Records that `worker` parks. True when it was the last searcher, in
  // which case the caller must look for queued work once more.
  bool TransitionWorkerToParked(int worker, bool is_searching);

  // Lets at most half the workers search at once. True when the caller may
  // search (and is now counted as searching).
  bool TransitionWorkerToSearching();

  // True when the caller was the last searcher: it must then look at the
  // queues and notify another worker if work is queued
  // (Scheduler::NotifyIfWorkPending).
  bool TransitionWorkerFromSearching();

  // True while `worker` is in the sleeper list (not yet notified).
  bool IsParked(int worker);

  size_t NumSearching() const;

 private:
  static constexpr uint64_t kUnparkedOne = uint64_t{1} << 32;
  static constexpr uint64_t kSearchMask = kUnparkedOne - 1;

  bool NotifyShouldWakeup();
  // No worker searches and at least one is parked, in `state`.
  bool NobodySearchesAndOneSleeps(uint64_t state) const;

  const int num_workers_;
  // Its own cache line: read on every yield by every worker.
  alignas(64) std::atomic<uint64_t> state_;
  alignas(64) absl::Mutex mu_;
  std::vector<int> sleepers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::internal
