#include "core/scheduler/owned_tasks.h"

#include <cstdint>

namespace corosched::internal {

OwnedTasks::Shard& OwnedTasks::ShardFor(const TaskHeader* task) {
  // Tasks are at least 64-byte apart; mix the bits above that.
  const auto address = reinterpret_cast<uintptr_t>(task);
  return shards_[((address >> 6) ^ (address >> 12)) % kShards];
}

bool OwnedTasks::Bind(TaskHeader* task) {
  Shard& shard = ShardFor(task);
  absl::MutexLock lock(&shard.mu);
  if (shard.closed) return false;
  task->owned_prev = nullptr;
  task->owned_next = shard.head;
  if (shard.head != nullptr) shard.head->owned_prev = task;
  shard.head = task;
  return true;
}

void OwnedTasks::Unlink(Shard& shard, TaskHeader* task) {
  if (task->owned_prev != nullptr) {
    task->owned_prev->owned_next = task->owned_next;
  } else {
    shard.head = task->owned_next;
  }
  if (task->owned_next != nullptr) {
    task->owned_next->owned_prev = task->owned_prev;
  }
  task->owned_prev = nullptr;
  task->owned_next = nullptr;
}

bool OwnedTasks::Remove(TaskHeader* task) {
  Shard& shard = ShardFor(task);
  absl::MutexLock lock(&shard.mu);
  const bool listed = task->owned_prev != nullptr || shard.head == task;
  if (listed) Unlink(shard, task);
  return listed;
}

void OwnedTasks::Close() {
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    shard.closed = true;
  }
}

TaskHeader* OwnedTasks::PopAny() {
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    if (shard.head != nullptr) {
      TaskHeader* task = shard.head;
      Unlink(shard, task);
      return task;
    }
  }
  return nullptr;
}

}  // namespace corosched::internal
