#include "core/task/harness.h"

#include <new>

#include "core/scheduler/scheduler.h"

namespace corosched::internal {
namespace {

TaskHeader* AsTask(const void* data) {
  return static_cast<TaskHeader*>(const_cast<void*>(data));
}

void CloneWaker(const void* data) { AsTask(data)->state.RefInc(); }

void DropWaker(const void* data) { DropReference(AsTask(data)); }

void WakeByRefWaker(const void* data) {
  TaskHeader* task = AsTask(data);
  if (task->state.TransitionToNotifiedByRef() ==
      TaskState::NotifyResult::kSubmit) {
    task->scheduler->Schedule(task, /*is_yield=*/false);
  }
}

void WakeWaker(const void* data) {
  TaskHeader* task = AsTask(data);
  switch (task->state.TransitionToNotifiedByVal()) {
    case TaskState::NotifyResult::kSubmit:
      task->scheduler->Schedule(task, /*is_yield=*/false);
      break;
    case TaskState::NotifyResult::kDealloc:
      task->vtable->dealloc(task);
      break;
    case TaskState::NotifyResult::kDoNothing:
      break;
  }
}

constexpr WakerVTable kTaskWakerVTable = {&CloneWaker, &WakeWaker,
                                          &WakeByRefWaker, &DropWaker};

// The Waker handed to a poll borrows the running reference instead of
// taking one, so a poll costs no reference-count traffic. It is never
// destroyed; a future that keeps it copies it, which takes a reference.
class BorrowedTaskWaker {
 public:
  explicit BorrowedTaskWaker(TaskHeader* task) {
    new (storage_) Waker(Waker::FromRaw(&kTaskWakerVTable, task));
  }
  const Waker& get() const {
    return *std::launder(reinterpret_cast<const Waker*>(storage_));
  }

 private:
  alignas(Waker) unsigned char storage_[sizeof(Waker)];
};

// REQUIRES: the caller owns the task (kRunning) and holds the running
// reference, which this consumes.
void Complete(TaskHeader* task) {
  // The admission slot is freed before anyone hears of the end, so a
  // joiner that spawns again at once is admitted.
  const uint64_t references = task->scheduler->Release(task) ? 2 : 1;
  const uint64_t previous = task->state.TransitionToComplete();
  if (!(previous & TaskState::kJoinInterest)) {
    task->vtable->drop_output(task);
  } else if (previous & TaskState::kJoinWaker) {
    task->join_waker.WakeByRef();
  }
  if (task->state.TransitionToTerminal(references)) task->vtable->dealloc(task);
}

void CancelAndComplete(TaskHeader* task) {
  task->vtable->cancel(task);
  Complete(task);
}

}  // namespace

void RunTask(TaskHeader* task) {
  switch (task->state.TransitionToRunning()) {
    case TaskState::RunResult::kFailed:
      return;
    case TaskState::RunResult::kDealloc:
      task->vtable->dealloc(task);
      return;
    case TaskState::RunResult::kCancelled:
      CancelAndComplete(task);
      return;
    case TaskState::RunResult::kSuccess:
      break;
  }
  bool ready;
  {
    BorrowedTaskWaker waker(task);
    Context cx(waker.get());
    ready = task->vtable->poll(task, cx);
  }
  if (ready) {
    Complete(task);
    return;
  }
  switch (task->state.TransitionToIdle()) {
    case TaskState::IdleResult::kIdle:
      return;
    case TaskState::IdleResult::kNotified:
      // Woken during its own poll: one more poll, after the tasks already
      // waiting (a yield, not a LIFO wake, so a self-waking task cannot
      // starve the others).
      task->scheduler->Schedule(task, /*is_yield=*/true);
      return;
    case TaskState::IdleResult::kCancelled:
      CancelAndComplete(task);
      return;
    case TaskState::IdleResult::kDealloc:
      task->vtable->dealloc(task);
      return;
  }
}

void ShutdownTask(TaskHeader* task) {
  if (task->state.TransitionToShutdown()) {
    CancelAndComplete(task);
  } else {
    DropReference(task);
  }
}

void CancelTask(TaskHeader* task) {
  if (task->state.TransitionToNotifiedAndCancel()) {
    task->scheduler->Schedule(task, /*is_yield=*/false);
  }
}

void DropReference(TaskHeader* task) {
  if (task->state.RefDec()) task->vtable->dealloc(task);
}

Waker NewTaskWaker(TaskHeader* task) {
  task->state.RefInc();
  return Waker::FromRaw(&kTaskWakerVTable, task);
}

}  // namespace corosched::internal
