#include "core/scheduler/idle.h"

#include <algorithm>

namespace corosched::internal {

Idle::Idle(int num_workers)
    : num_workers_(num_workers), state_(uint64_t(num_workers) * kUnparkedOne) {
  sleepers_.reserve(num_workers);
}

bool Idle::NotifyShouldWakeup() {
  // A seq_cst fence, then a load: the fence orders the caller's queue push
  // before this read against the parking worker's fence (see the class
  // invariants). A fetch_add(0) would do the same, but every yield on every
  // worker comes here, and an RMW would bounce this line between them.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return NobodySearchesAndOneSleeps(state_.load(std::memory_order_relaxed));
}

bool Idle::MayNotifyForLocalWork() const {
  return NobodySearchesAndOneSleeps(state_.load(std::memory_order_relaxed));
}

bool Idle::NobodySearchesAndOneSleeps(uint64_t state) const {
  return (state & kSearchMask) == 0 && (state >> 32) < uint64_t(num_workers_);
}

std::optional<int> Idle::WorkerToNotify() {
  if (!NotifyShouldWakeup()) return std::nullopt;
  absl::MutexLock lock(&mu_);
  if (!NotifyShouldWakeup() || sleepers_.empty()) return std::nullopt;
  state_.fetch_add(kUnparkedOne + 1, std::memory_order_seq_cst);
  const int worker = sleepers_.back();
  sleepers_.pop_back();
  return worker;
}

bool Idle::TransitionWorkerToParked(int worker, bool is_searching) {
  absl::MutexLock lock(&mu_);
  const uint64_t delta = kUnparkedOne + (is_searching ? 1 : 0);
  const uint64_t previous = state_.fetch_sub(delta, std::memory_order_seq_cst);
  sleepers_.push_back(worker);
  return is_searching && (previous & kSearchMask) == 1;
}

bool Idle::TransitionWorkerToSearching() {
  const uint64_t state = state_.load(std::memory_order_seq_cst);
  if (2 * (state & kSearchMask) >= uint64_t(num_workers_)) return false;
  // Possibly a few more than half search for a moment; that only costs a
  // little spinning, never correctness.
  state_.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

bool Idle::TransitionWorkerFromSearching() {
  const uint64_t previous = state_.fetch_sub(1, std::memory_order_seq_cst);
  return (previous & kSearchMask) == 1;
}

bool Idle::IsParked(int worker) {
  absl::MutexLock lock(&mu_);
  return std::find(sleepers_.begin(), sleepers_.end(), worker) !=
         sleepers_.end();
}

size_t Idle::NumSearching() const {
  return state_.load(std::memory_order_relaxed) & kSearchMask;
}

}  // namespace corosched::internal
