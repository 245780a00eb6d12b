#pragma once

#include <utility>

#include "absl/status/status.h"
#include "core/task/block_on.h"
#include "core/task/harness.h"
#include "core/task/header.h"
#include "core/task/join_result.h"

namespace corosched {

namespace internal {
// True when the output can be read; otherwise `waker` is registered to be
// woken on completion. REQUIRES: the caller is the task's JoinHandle.
bool JoinReady(TaskHeader* task, const Waker& waker);
// Gives up the JoinHandle's interest and reference.
void DropJoinHandle(TaskHeader* task);
}  // namespace internal

// The owner's side of a spawned task: await its result (it is itself a
// Future, so `co_await handle` works in a coroutine), block on it from a
// plain thread, cancel it, or detach it.
//
// Dropping a JoinHandle detaches the task: it runs on, and its result is
// discarded. Cancel() stops it at its next suspension point; the handle
// then yields CANCELLED (unless the task finished first).
//
// Thread-safety: the handle is a single-owner value (move-only); the task it
// refers to may run on any worker meanwhile.
template <typename T>
class JoinHandle {
 public:
  using Output = JoinResult<T>;

  explicit JoinHandle(internal::TaskHeader* task) : task_(task) {}
  JoinHandle(JoinHandle&& other) noexcept
      : task_(std::exchange(other.task_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      Reset();
      task_ = std::exchange(other.task_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { Reset(); }

  // Ready once the task finished or was cancelled. Polling again after
  // Ready yields FAILED_PRECONDITION: the result was already taken.
  corosched::Poll<Output> Poll(Context& cx) {
    if (task_ == nullptr) {
      return corosched::Poll<Output>::Ready(absl::FailedPreconditionError(
          "JoinHandle was already awaited, detached or moved from"));
    }
    if (!internal::JoinReady(task_, cx.waker())) {
      return corosched::Poll<Output>::Pending();
    }
    Output result = absl::UnknownError("unset");
    task_->vtable->take_output(task_, &result);
    internal::DropReference(std::exchange(task_, nullptr));
    return corosched::Poll<Output>::Ready(std::move(result));
  }

  // Blocks the calling plain thread until the task ends.
  // REQUIRES: not an executor worker thread (co_await the handle there).
  Output Wait() && {
    if (internal::OnWorkerThread()) {
      return absl::FailedPreconditionError(
          "JoinHandle::Wait() on an executor worker would block the worker; "
          "co_await the handle instead");
    }
    return BlockOn(*this);
  }

  // Asks the task to stop; idempotent, and a no-op once it has finished.
  void Cancel() {
    if (task_ != nullptr) internal::CancelTask(task_);
  }

  // Lets the task run on without anyone reading its result.
  void Detach() && { Reset(); }

 private:
  void Reset() {
    if (task_ != nullptr) {
      internal::DropJoinHandle(std::exchange(task_, nullptr));
    }
  }

  internal::TaskHeader* task_;
};

}  // namespace corosched
