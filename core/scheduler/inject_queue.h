#pragma once

#include <atomic>
#include <cstddef>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/task/header.h"

namespace corosched::internal {

// The shared FIFO that takes tasks woken or spawned from outside the
// workers, and the overflow of full local queues. An intrusive list through
// TaskHeader::queue_next under one mutex: pushes from foreign threads are
// rare next to local pushes, and a mutex keeps this queue obviously right.
//
// Thread-safety: all methods from any thread.
class InjectQueue {
 public:
  InjectQueue() = default;
  InjectQueue(const InjectQueue&) = delete;
  InjectQueue& operator=(const InjectQueue&) = delete;

  void Push(TaskHeader* task);
  // Pushes the list first -> ... -> last (linked through queue_next).
  void PushBatch(TaskHeader* first, TaskHeader* last, size_t count);
  TaskHeader* Pop();
  // Pops up to `max` tasks (at least one when not empty) in one lock:
  // returns the first, linked through queue_next to the rest (the last's
  // queue_next is null), and their number in *count.
  TaskHeader* PopBatch(size_t max, size_t* count);

  // Lock-free reads, for metrics and for the quick "anything here?" check.
  // Relaxed is enough: a pusher's store is followed by a seq_cst fence
  // before it reads the idle state, and a parking worker fences after its
  // update of that state before it reads the length (see Idle).
  size_t Len() const { return len_.load(std::memory_order_relaxed); }
  bool IsEmpty() const { return Len() == 0; }

 private:
  absl::Mutex mu_;
  TaskHeader* head_ ABSL_GUARDED_BY(mu_) = nullptr;
  TaskHeader* tail_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::atomic<size_t> len_{0};
};

}  // namespace corosched::internal
