#include "core/scheduler/inject_queue.h"

namespace corosched::internal {

void InjectQueue::Push(TaskHeader* task) { PushBatch(task, task, 1); }

void InjectQueue::PushBatch(TaskHeader* first, TaskHeader* last, size_t count) {
  last->queue_next = nullptr;
  absl::MutexLock lock(&mu_);
  if (tail_ == nullptr) {
    head_ = first;
  } else {
    tail_->queue_next = first;
  }
  tail_ = last;
  len_.store(len_.load(std::memory_order_relaxed) + count,
             std::memory_order_relaxed);
}

TaskHeader* InjectQueue::Pop() {
  size_t count = 0;
  return PopBatch(1, &count);
}

TaskHeader* InjectQueue::PopBatch(size_t max, size_t* count) {
  *count = 0;
  if (IsEmpty() || max == 0) return nullptr;
  absl::MutexLock lock(&mu_);
  TaskHeader* first = head_;
  if (first == nullptr) return nullptr;
  TaskHeader* last = first;
  size_t taken = 1;
  while (taken < max && last->queue_next != nullptr) {
    last = last->queue_next;
    ++taken;
  }
  head_ = last->queue_next;
  if (head_ == nullptr) tail_ = nullptr;
  last->queue_next = nullptr;
  len_.store(len_.load(std::memory_order_relaxed) - taken,
             std::memory_order_relaxed);
  *count = taken;
  return first;
}

}  // namespace corosched::internal
