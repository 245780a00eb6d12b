#pragma once

#include <cstdint>

#include "core/task/state.h"
#include "core/task/waker.h"

namespace corosched::internal {

class Scheduler;
struct TaskHeader;

// The type-specific operations of a task, filled in by TaskCell<F>.
// Each REQUIRES the caller to own the task's stage: kRunning for poll and
// cancel; kComplete plus ownership of the output for drop_output and
// take_output; a zero reference count for dealloc.
struct TaskVTable {
  // Polls the future; true when it finished and its output is stored.
  bool (*poll)(TaskHeader* task, Context& cx);
  // Drops the future and stores a CANCELLED result in its place.
  void (*cancel)(TaskHeader* task);
  // Drops the stored result: no JoinHandle will read it.
  void (*drop_output)(TaskHeader* task);
  // Moves the stored result into *out, a JoinResult<Output>*.
  void (*take_output)(TaskHeader* task, void* out);
  void (*dealloc)(TaskHeader* task);
};

// The part of every task the scheduler sees, whatever its future. Fields
// other than `state` are owned as noted; none needs its own lock.
//
// Memory: 80 bytes on x86-64 (see the ParkedTaskMemory benchmark); the
// future and its result follow in TaskCell<F>.
struct TaskHeader {
  TaskHeader(const TaskVTable* vt, Scheduler* owner)
      : vtable(vt), scheduler(owner) {}

  TaskState state;
  const TaskVTable* vtable;
  Scheduler* scheduler;
  // Link in the injection queue; owned by that queue while the task is in it.
  TaskHeader* queue_next = nullptr;
  // Links in the owned-task list; guarded by that list's shard mutex.
  TaskHeader* owned_prev = nullptr;
  TaskHeader* owned_next = nullptr;
  // When the task was last queued, in ns of absl::GetCurrentTimeNanos(), or
  // 0 when that wake is not sampled for metrics. Written by the thread that
  // queues the task, read by the worker that dequeues it: the queue's
  // release/acquire hand-off orders the two.
  int64_t queued_at_ns = 0;
  // Written only by the JoinHandle while kJoinWaker is clear; read by the
  // completing thread after it saw kJoinWaker set. See JoinHandle::Poll.
  Waker join_waker;
};

}  // namespace corosched::internal
