#pragma once

// The values WorkQueues (server/work/work_queues.h) takes and hands out:
// what a task puts on a queue, what a worker gets, what is persisted per
// lease, and the outcome the owner is told of.

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"

namespace corosched::server {

// One attempt of one task's work, as the task's `work` state declares it.
struct WorkSpec {
  // 1 to 128 bytes (the ids docs/service.md allows).
  std::string task_id;
  // From 1; a retry is the same task with the next attempt.
  uint32_t attempt = 1;
  // A valid queue name (see ValidateQueueName).
  std::string queue;
  google::protobuf::Value input;
  // Zero: none. `timeout` bounds an attempt from its lease to its answer,
  // `heartbeat` the time between two heartbeats (and from the lease to the
  // first), `schedule_timeout` the time it may wait on the queue. At least
  // one of timeout and heartbeat is set: a lease with neither would stay
  // with a dead worker for ever.
  absl::Duration timeout = absl::ZeroDuration();
  absl::Duration heartbeat = absl::ZeroDuration();
  absl::Duration schedule_timeout = absl::ZeroDuration();
  // When the attempt was first queued; InfinitePast(): now. A queued item
  // restored after a restart passes its recorded time, so its schedule
  // timeout counts from then.
  absl::Time scheduled_at = absl::InfinitePast();
};

// What must be persisted of a lease (in the task's snapshot) so that after a
// restart WorkQueues::Restore takes the lease back and the worker's token
// stays valid: the token is rebuilt from task_id, attempt and nonce.
struct LeaseRecord {
  std::string task_id;
  uint32_t attempt = 0;
  std::string queue;
  std::string worker_identity;
  // kNonceBytes random bytes, drawn when the item was leased.
  std::string nonce;
  absl::Time scheduled_at;
  absl::Time started_at;
  // InfiniteFuture(): the work declares no heartbeat (no timeout).
  absl::Time heartbeat_deadline = absl::InfiniteFuture();
  absl::Time timeout_deadline = absl::InfiniteFuture();
  // The work's heartbeat interval (zero: none), to extend the lease by.
  absl::Duration heartbeat = absl::ZeroDuration();
  // RequestCancel was called during the lease.
  bool cancel_requested = false;
};

// An item handed to a worker: the proto WorkItem's contents.
struct WorkLease {
  // The lease's token (work_token.h); what the worker presents.
  std::string token;
  LeaseRecord record;
  google::protobuf::Value input;
};

// How an attempt ended. Each attempt has exactly one.
enum class WorkOutcomeKind {
  kCompleted,         // the worker completed it: `result`
  kFailed,            // the worker failed it: `error`, `message`, `retryable`
  kHeartbeatTimeout,  // leased, and no heartbeat came by its deadline
  kTimeout,           // leased, and no answer came by its timeout deadline
  kScheduleTimeout,   // no worker took it within its schedule timeout
  kCancelled,         // RequestCancel: taken off the queue, or the worker
                      // failed it or let its lease run out after the cancel
};

// The name used in messages and logs: "completed", "heartbeat timeout", ...
const char* WorkOutcomeKindName(WorkOutcomeKind kind);
// The name in snake case, as retry and catch match a lease's own ends and
// metrics label outcomes: "heartbeat_timeout" for kHeartbeatTimeout.
const char* WorkOutcomeLabel(WorkOutcomeKind kind);

// Told to the owner (the task runner), which decides what happens next
// (retry, catch, go on); WorkQueues decides nothing.
struct WorkOutcome {
  std::string task_id;
  uint32_t attempt = 0;
  WorkOutcomeKind kind = WorkOutcomeKind::kCompleted;
  // kCompleted.
  google::protobuf::Value result;
  // kFailed, and kCancelled when the worker failed the item.
  std::string error;
  std::string message;
  bool retryable = false;
  // The latest heartbeat's details, if any came (for a retry to resume from).
  google::protobuf::Value last_details;
  // When the outcome was decided, by the clock.
  absl::Time at = absl::InfinitePast();
};

// A queue's load, for GetQueueStats and autoscalers.
struct WorkQueueStats {
  std::string queue;
  // Items waiting for a worker.
  uint64_t depth = 0;
  // How long the oldest waiting item has waited (zero when none waits).
  absl::Duration oldest_age = absl::ZeroDuration();
  // Polls parked on the queue now, plus streams with credit left.
  uint64_t pollers = 0;
  // Items leased to workers now.
  uint64_t leased = 0;
};

}  // namespace corosched::server
