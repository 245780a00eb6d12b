#pragma once

#include "core/task/header.h"
#include "core/task/waker.h"

namespace corosched::internal {

// The type-independent steps of a task's life, driven by the scheduler and
// by Wakers. Each function consumes or borrows references as documented;
// the reference rules are in core/task/state.h.

// Runs one queue entry: polls the task (or cancels it) and then requeues,
// idles or completes it. Consumes the entry's reference.
void RunTask(TaskHeader* task);

// Called by the shutdown sweep with the owned-list reference: cancels the
// task at once if it is idle, else marks it cancelled for its poller.
// Consumes the reference.
void ShutdownTask(TaskHeader* task);

// Requests cancellation from a JoinHandle: the task is polled no more; its
// future is dropped on a worker and its JoinHandle reads CANCELLED.
void CancelTask(TaskHeader* task);

// Releases one reference; frees the task when it was the last.
void DropReference(TaskHeader* task);

// A new Waker for `task`, holding its own reference.
Waker NewTaskWaker(TaskHeader* task);

}  // namespace corosched::internal
