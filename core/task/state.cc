#include "core/task/state.h"

#include <cassert>
#include <cstdlib>

namespace corosched::internal {
namespace {

// Runs `update` on the current word until the compare-exchange succeeds.
// `update` returns false to leave the word as it is.
template <typename Update>
uint64_t FetchUpdate(std::atomic<uint64_t>& word, Update update) {
  uint64_t current = word.load(std::memory_order_acquire);
  for (;;) {
    uint64_t next = current;
    if (!update(next)) return current;
    if (word.compare_exchange_weak(current, next, std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
      return current;
    }
  }
}

bool IsIdle(uint64_t word) { return (word & TaskState::kLifecycleMask) == 0; }

}  // namespace

TaskState::RunResult TaskState::TransitionToRunning() {
  RunResult result = RunResult::kSuccess;
  FetchUpdate(word_, [&](uint64_t& next) {
    assert(next & kNotified);
    if (!IsIdle(next)) {
      // A stale queue entry: the task was taken over by the shutdown sweep.
      assert(RefCount(next) > 0);
      next -= kRefOne;
      result = RefCount(next) == 0 ? RunResult::kDealloc : RunResult::kFailed;
      return true;
    }
    next = (next | kRunning) & ~kNotified;
    result = (next & kCancelled) ? RunResult::kCancelled : RunResult::kSuccess;
    return true;
  });
  return result;
}

TaskState::IdleResult TaskState::TransitionToIdle() {
  IdleResult result = IdleResult::kIdle;
  FetchUpdate(word_, [&](uint64_t& next) {
    assert(next & kRunning);
    if (next & kCancelled) {
      result = IdleResult::kCancelled;
      return false;
    }
    next &= ~kRunning;
    if (next & kNotified) {
      result = IdleResult::kNotified;
      return true;
    }
    assert(RefCount(next) > 0);
    next -= kRefOne;
    result = RefCount(next) == 0 ? IdleResult::kDealloc : IdleResult::kIdle;
    return true;
  });
  return result;
}

uint64_t TaskState::TransitionToComplete() {
  const uint64_t previous =
      word_.fetch_xor(kRunning | kComplete, std::memory_order_acq_rel);
  assert(previous & kRunning);
  assert(!(previous & kComplete));
  return previous;
}

bool TaskState::TransitionToTerminal(uint64_t count) {
  const uint64_t previous =
      word_.fetch_sub(count * kRefOne, std::memory_order_acq_rel);
  assert(RefCount(previous) >= count);
  return RefCount(previous) == count;
}

TaskState::NotifyResult TaskState::TransitionToNotifiedByRef() {
  NotifyResult result = NotifyResult::kDoNothing;
  FetchUpdate(word_, [&](uint64_t& next) {
    if (next & (kComplete | kNotified)) {
      result = NotifyResult::kDoNothing;
      return false;
    }
    next |= kNotified;
    if (next & kRunning) {
      result = NotifyResult::kDoNothing;
    } else {
      next += kRefOne;  // for the queue entry about to be created
      result = NotifyResult::kSubmit;
    }
    return true;
  });
  return result;
}

TaskState::NotifyResult TaskState::TransitionToNotifiedByVal() {
  NotifyResult result = NotifyResult::kDoNothing;
  FetchUpdate(word_, [&](uint64_t& next) {
    assert(RefCount(next) > 0);
    if (next & kRunning) {
      next |= kNotified;
      next -= kRefOne;  // the Waker's reference; the poller holds another
      result = NotifyResult::kDoNothing;
    } else if (next & (kComplete | kNotified)) {
      next -= kRefOne;
      result = RefCount(next) == 0 ? NotifyResult::kDealloc
                                   : NotifyResult::kDoNothing;
    } else {
      next |= kNotified;  // the Waker's reference moves to the queue entry
      result = NotifyResult::kSubmit;
    }
    return true;
  });
  return result;
}

bool TaskState::TransitionToNotifiedAndCancel() {
  bool submit = false;
  FetchUpdate(word_, [&](uint64_t& next) {
    if (next & (kComplete | kCancelled)) {
      submit = false;
      return false;
    }
    if (next & (kRunning | kNotified)) {
      next |= kCancelled | kNotified;
      submit = false;
    } else {
      next |= kCancelled | kNotified;
      next += kRefOne;
      submit = true;
    }
    return true;
  });
  return submit;
}

bool TaskState::TransitionToShutdown() {
  bool owned = false;
  FetchUpdate(word_, [&](uint64_t& next) {
    owned = IsIdle(next);
    if (owned) next |= kRunning;
    next |= kCancelled;
    return true;
  });
  return owned;
}

bool TaskState::UnsetJoinInterest() {
  bool unset = false;
  FetchUpdate(word_, [&](uint64_t& next) {
    assert(next & kJoinInterest);
    unset = !(next & kComplete);
    if (!unset) return false;
    next &= ~kJoinInterest;
    return true;
  });
  return unset;
}

bool TaskState::SetJoinWaker() {
  bool set = false;
  FetchUpdate(word_, [&](uint64_t& next) {
    assert(next & kJoinInterest);
    assert(!(next & kJoinWaker));
    set = !(next & kComplete);
    if (!set) return false;
    next |= kJoinWaker;
    return true;
  });
  return set;
}

bool TaskState::UnsetJoinWaker() {
  bool unset = false;
  FetchUpdate(word_, [&](uint64_t& next) {
    assert(next & kJoinInterest);
    assert(next & kJoinWaker);
    unset = !(next & kComplete);
    if (!unset) return false;
    next &= ~kJoinWaker;
    return true;
  });
  return unset;
}

void TaskState::RefInc() {
  // Relaxed is enough: the caller already holds a reference, so the task
  // cannot be freed concurrently and nothing is published by counting.
  const uint64_t previous = word_.fetch_add(kRefOne, std::memory_order_relaxed);
  if (RefCount(previous) == 0 || RefCount(previous + kRefOne) == 0) {
    std::abort();  // a use after free or an overflow: never continue
  }
}

bool TaskState::RefDec() {
  const uint64_t previous = word_.fetch_sub(kRefOne, std::memory_order_acq_rel);
  assert(RefCount(previous) > 0);
  return RefCount(previous) == 1;
}

}  // namespace corosched::internal
