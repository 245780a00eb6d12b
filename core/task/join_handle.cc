#include "core/task/join_handle.h"

namespace corosched::internal {
namespace {

// Stores `waker` as the join waker. False when the task completed before
// the waker was published, in which case the caller reads the output.
// REQUIRES: kJoinWaker is clear, so the JoinHandle owns `join_waker`.
bool PublishJoinWaker(TaskHeader* task, const Waker& waker) {
  task->join_waker = waker;
  if (task->state.SetJoinWaker()) return true;
  task->join_waker = Waker();
  return false;
}

}  // namespace

// The join waker protocol (Tokio's `can_read_output`):
//  1. While kJoinWaker is clear only the JoinHandle touches join_waker; the
//     completing thread reads it only if kJoinWaker was set when it moved
//     the task to kComplete.
//  2. To replace a stored waker the handle first clears kJoinWaker, which
//     fails once the task is complete; then it owns the slot again.
//  3. Setting kJoinWaker fails once the task is complete; then nobody will
//     wake the handle, so it reads the output at once.
bool JoinReady(TaskHeader* task, const Waker& waker) {
  const uint64_t word = task->state.Load();
  if (word & TaskState::kComplete) return true;
  if (word & TaskState::kJoinWaker) {
    if (task->join_waker.WillWake(waker)) return false;
    if (!task->state.UnsetJoinWaker()) return true;
  }
  return !PublishJoinWaker(task, waker);
}

void DropJoinHandle(TaskHeader* task) {
  if (!task->state.UnsetJoinInterest()) {
    // The task completed first and stored an output only we may drop.
    task->vtable->drop_output(task);
  }
  DropReference(task);
}

}  // namespace corosched::internal
