#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/work/work_types.h"

namespace corosched::server {

// Which deadline of a lease passed.
enum class LeaseExpiryKind {
  kHeartbeat,  // no heartbeat came by the heartbeat deadline
  kTimeout,    // no answer came by the timeout deadline
};

// One attempt's end, as WorkQueuesObserver::OnAttemptEnded hears it.
struct WorkAttemptEnd {
  std::string queue;
  WorkOutcomeKind outcome = WorkOutcomeKind::kCompleted;
  // The error name a task's `retry` and `catch` match on: the worker's for
  // kFailed; "heartbeat_timeout", "timeout", "schedule_timeout" or
  // "cancelled" for the other ends; empty for kCompleted.
  std::string error;
  // Whether the attempt was leased when it ended; `run_duration` is then
  // the time from the lease's start to the end.
  bool had_lease = false;
  absl::Duration run_duration = absl::ZeroDuration();
};

// What WorkQueues tells of its items as they move, for metrics: an item
// queued, leased to a worker, its attempt ended, a lease expired. Real
// implementation: WorkMetrics (server/metrics/work_metrics.h); tests use a
// recording fake.
//
//   WorkMetrics metrics;
//   WorkQueues queues(clock, on_outcome, on_deadline, &metrics);
//
// Calls come on whatever thread made the event happen (Enqueue, Poll, a
// token call, ExpireDue...), after WorkQueues released its mutex, on several
// threads at once, so an implementation may call WorkQueues::Stats(). The
// order of two events of one item on different threads is not guaranteed.
// The observer must outlive the WorkQueues it is given to.
class WorkQueuesObserver {
 public:
  virtual ~WorkQueuesObserver() = default;

  // An attempt was put at the tail of `queue` (Enqueue).
  virtual void OnItemQueued(absl::string_view queue) = 0;
  // An item of `queue` was leased to a worker, `schedule_to_start` after
  // its attempt was first queued. An item whose lease never reached its
  // worker (WorkQueues::ReturnUndelivered) and is leased again counts again.
  virtual void OnItemLeased(absl::string_view queue,
                            absl::Duration schedule_to_start) = 0;
  // An attempt ended (exactly once per attempt: WorkQueues' invariant 3).
  virtual void OnAttemptEnded(const WorkAttemptEnd& end) = 0;
  // A lease of `queue` ended because a deadline passed (before or with its
  // OnAttemptEnded; also when the task's cancel was requested meanwhile).
  virtual void OnLeaseExpired(absl::string_view queue,
                              LeaseExpiryKind kind) = 0;
};

}  // namespace corosched::server
