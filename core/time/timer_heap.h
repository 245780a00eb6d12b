#pragma once

#include <cstddef>
#include <vector>

#include "absl/time/time.h"
#include "core/task/waker.h"

namespace corosched::internal {

// One pending timer: a deadline and the Waker to wake when it passes.
// Owned by its Sleep future; all fields are guarded by the TimerDriver's
// mutex.
struct TimerEntry {
  static constexpr size_t kNotQueued = ~size_t{0};

  absl::Time deadline;
  size_t heap_index = kNotQueued;
  bool fired = false;
  Waker waker;
};

// A binary min-heap of timer entries by deadline in which each entry knows
// its own index, so a cancelled timer leaves in O(log n) instead of
// lingering until it would have fired.
//
// Thread-safety: none; the TimerDriver's mutex guards it.
class TimerHeap {
 public:
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // REQUIRES: !empty().
  TimerEntry* Top() const { return heap_.front(); }

  // REQUIRES: the entry is not queued.
  void Push(TimerEntry* entry);
  // REQUIRES: the entry is queued here.
  void Remove(TimerEntry* entry);

 private:
  bool Less(size_t a, size_t b) const {
    return heap_[a]->deadline < heap_[b]->deadline;
  }
  void Swap(size_t a, size_t b);
  void SiftUp(size_t index);
  void SiftDown(size_t index);

  std::vector<TimerEntry*> heap_;
};

}  // namespace corosched::internal
