#pragma once

#include <array>
#include <cstddef>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/task/header.h"

namespace corosched::internal {

// Every live task of one executor, so shutdown can cancel the ones no queue
// holds (tasks parked on a wake that will never come). Holds one reference
// per listed task. Sharded by task address so that spawns and completions
// on different workers rarely meet on one mutex.
//
// Invariants: a task is listed from Bind until Remove or PopAny; after
// Close, Bind fails, so a shutdown sweep that empties the list has seen
// every task that will ever exist here.
//
// Thread-safety: all methods from any thread.
class OwnedTasks {
 public:
  OwnedTasks() = default;
  OwnedTasks(const OwnedTasks&) = delete;
  OwnedTasks& operator=(const OwnedTasks&) = delete;

  // Lists the task; false (and not listed) once Close() was called.
  bool Bind(TaskHeader* task);
  // Unlists the task; true when it was listed, which hands the list's
  // reference to the caller.
  bool Remove(TaskHeader* task);
  // Refuses every later Bind.
  void Close();
  // Unlists and returns some task with the list's reference, or nullptr.
  TaskHeader* PopAny();

 private:
  static constexpr size_t kShards = 16;

  struct alignas(64) Shard {
    absl::Mutex mu;
    TaskHeader* head ABSL_GUARDED_BY(mu) = nullptr;
    bool closed ABSL_GUARDED_BY(mu) = false;
  };

  Shard& ShardFor(const TaskHeader* task);
  static void Unlink(Shard& shard, TaskHeader* task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  std::array<Shard, kShards> shards_;
};

}  // namespace corosched::internal
