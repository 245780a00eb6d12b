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
  if (IsEmpty()) return nullptr;
  absl::MutexLock lock(&mu_);
  TaskHeader* task = head_;
  if (task == nullptr) return nullptr;
  head_ = task->queue_next;
  if (head_ == nullptr) tail_ = nullptr;
  task->queue_next = nullptr;
  len_.store(len_.load(std::memory_order_relaxed) - 1,
             std::memory_order_relaxed);
  return task;
}

}  // namespace corosched::internal
