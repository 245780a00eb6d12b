// WorkQueues: leases, their tokens, and the end of each attempt. Queues and
// dispatch are in work_queues.cc.

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "server/work/work_checks.h"
#include "server/work/work_queues.h"
#include "server/work/work_token.h"

namespace corosched::server {
namespace {

WorkOutcome OutcomeOf(WorkOutcomeKind kind) {
  WorkOutcome outcome;
  outcome.kind = kind;
  return outcome;
}

absl::Status EndedRefusal(WorkOutcomeKind kind, bool answered) {
  if (!answered) {
    return absl::FailedPreconditionError(absl::StrCat(
        "token: the lease ended (", WorkOutcomeKindName(kind),
        ") before this call, so it changed nothing; drop the item"));
  }
  absl::Status status = absl::FailedPreconditionError(
      absl::StrCat("already ", WorkOutcomeKindName(kind),
                   ": an answer with this token was accepted before; drop "
                   "the item"));
  status.SetPayload(WorkQueues::kAlreadyAcceptedPayload,
                    absl::Cord(WorkOutcomeKindName(kind)));
  return status;
}

// The error name a task's `retry` and `catch` see for `outcome` (as the
// task runner gives them); empty for a completion.
std::string ErrorNameOf(const WorkOutcome& outcome) {
  switch (outcome.kind) {
    case WorkOutcomeKind::kCompleted:
      return "";
    case WorkOutcomeKind::kFailed:
      return outcome.error;
    default:
      return WorkOutcomeLabel(outcome.kind);
  }
}

}  // namespace

const char* WorkOutcomeKindName(WorkOutcomeKind kind) {
  switch (kind) {
    case WorkOutcomeKind::kCompleted:
      return "completed";
    case WorkOutcomeKind::kFailed:
      return "failed";
    case WorkOutcomeKind::kHeartbeatTimeout:
      return "heartbeat timeout";
    case WorkOutcomeKind::kTimeout:
      return "timeout";
    case WorkOutcomeKind::kScheduleTimeout:
      return "schedule timeout";
    case WorkOutcomeKind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

const char* WorkOutcomeLabel(WorkOutcomeKind kind) {
  switch (kind) {
    case WorkOutcomeKind::kCompleted:
      return "completed";
    case WorkOutcomeKind::kFailed:
      return "failed";
    case WorkOutcomeKind::kHeartbeatTimeout:
      return "heartbeat_timeout";
    case WorkOutcomeKind::kTimeout:
      return "timeout";
    case WorkOutcomeKind::kScheduleTimeout:
      return "schedule_timeout";
    case WorkOutcomeKind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

void WorkQueues::Reindex(Item& item, Effects& effects) {
  if (item.indexed_deadline != absl::InfiniteFuture()) {
    deadlines_.erase({item.indexed_deadline, item.spec.task_id});
  }
  absl::Time next = absl::InfiniteFuture();
  if (item.leased) {
    next = std::min(item.lease.heartbeat_deadline, item.lease.timeout_deadline);
  } else if (item.spec.schedule_timeout > absl::ZeroDuration()) {
    next = item.spec.scheduled_at + item.spec.schedule_timeout;
  }
  item.indexed_deadline = next;
  if (next != absl::InfiniteFuture()) {
    deadlines_.insert({next, item.spec.task_id});
    Arm(next, effects);
  }
}

absl::StatusOr<WorkQueues::Item*> WorkQueues::FindCurrentLease(
    absl::string_view token, Effects& effects) {
  absl::StatusOr<WorkToken> decoded = WorkToken::Decode(token);
  if (!decoded.ok()) return decoded.status();
  auto it = items_.find(decoded->task_id);
  if (it != items_.end() && it->second.leased &&
      it->second.lease.attempt == decoded->attempt &&
      NoncesEqual(it->second.lease.nonce, decoded->nonce)) {
    Item& item = it->second;
    const absl::Time now = clock_.Now();
    if (item.indexed_deadline > now) return &item;
    ExpireItem(item, now, effects);  // due, and the sweep has not run yet
  }
  auto ended = ended_.find(token);
  if (ended != ended_.end()) {
    return EndedRefusal(ended->second.kind, ended->second.answered);
  }
  return absl::FailedPreconditionError(
      "token: names no current lease (it ended long ago, was superseded by "
      "a later attempt, or was never issued); drop the item");
}

void WorkQueues::ExpireItem(Item& item, absl::Time now, Effects& effects) {
  WorkOutcomeKind kind = WorkOutcomeKind::kScheduleTimeout;
  if (item.leased) {
    const bool timeout =
        item.lease.timeout_deadline <= item.lease.heartbeat_deadline;
    kind = timeout ? WorkOutcomeKind::kTimeout
                   : WorkOutcomeKind::kHeartbeatTimeout;
    if (item.lease.cancel_requested) kind = WorkOutcomeKind::kCancelled;
    if (observer_ != nullptr) {
      effects.observed.expired.emplace_back(
          item.spec.queue,
          timeout ? LeaseExpiryKind::kTimeout : LeaseExpiryKind::kHeartbeat);
    }
  }
  WorkOutcome outcome = OutcomeOf(kind);
  outcome.at = now;
  End(item, std::move(outcome), /*answered=*/false, effects);
}

void WorkQueues::End(Item& item, WorkOutcome outcome, bool answered,
                     Effects& effects) {
  const std::string task_id = item.spec.task_id;
  const std::string queue_name = item.spec.queue;
  Queue& queue = queues_[queue_name];
  if (item.leased) {
    --queue.leased;
    WorkToken token{task_id, item.lease.attempt, item.lease.nonce};
    RememberEnd(token.Encode(), EndedLease{outcome.kind, answered});
  } else {
    queue.ready.erase(
        std::find(queue.ready.begin(), queue.ready.end(), task_id));
  }
  if (item.indexed_deadline != absl::InfiniteFuture()) {
    deadlines_.erase({item.indexed_deadline, task_id});
  }
  outcome.task_id = task_id;
  outcome.attempt = item.spec.attempt;
  outcome.last_details = std::move(item.last_details);
  if (outcome.at == absl::InfinitePast()) outcome.at = clock_.Now();
  if (observer_ != nullptr) {
    WorkAttemptEnd& end = effects.observed.ended.emplace_back();
    end.queue = queue_name;
    end.outcome = outcome.kind;
    end.error = ErrorNameOf(outcome);
    end.had_lease = item.leased;
    if (item.leased) {
      end.run_duration =
          std::max(absl::ZeroDuration(), outcome.at - item.lease.started_at);
    }
  }
  items_.erase(task_id);
  DropQueueIfIdle(queue_name);
  effects.outcomes.push_back(std::move(outcome));
}

void WorkQueues::RememberEnd(const std::string& token, EndedLease ended) {
  if (ended_order_.size() >= kRememberedEnds) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
  ended_order_.push_back(token);
  ended_[token] = ended;
}

absl::StatusOr<WorkQueues::HeartbeatAnswer> WorkQueues::Heartbeat(
    absl::string_view token, google::protobuf::Value details) {
  Effects effects;
  absl::StatusOr<HeartbeatAnswer> answer;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Item*> found = FindCurrentLease(token, effects);
    if (!found.ok()) {
      answer = found.status();
    } else {
      Item& item = **found;
      if (item.lease.heartbeat > absl::ZeroDuration()) {
        item.lease.heartbeat_deadline = clock_.Now() + item.lease.heartbeat;
        Reindex(item, effects);
      }
      item.last_details = std::move(details);
      answer = HeartbeatAnswer{item.lease.cancel_requested,
                               item.lease.heartbeat_deadline};
    }
  }
  Run(std::move(effects));
  return answer;
}

absl::Status WorkQueues::Complete(absl::string_view token,
                                  google::protobuf::Value result) {
  Effects effects;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Item*> found = FindCurrentLease(token, effects);
    if (!found.ok()) {
      status = found.status();
    } else if ((*found)->lease.cancel_requested) {
      status = absl::FailedPreconditionError(
          "the task was cancelled, so its work cannot complete: stop and "
          "fail the item instead");
    } else {
      WorkOutcome outcome = OutcomeOf(WorkOutcomeKind::kCompleted);
      outcome.result = std::move(result);
      End(**found, std::move(outcome), /*answered=*/true, effects);
    }
  }
  Run(std::move(effects));
  return status;
}

absl::Status WorkQueues::Fail(absl::string_view token, std::string error,
                              std::string message, bool retryable) {
  if (absl::Status s = WorkToken::Decode(token).status(); !s.ok()) return s;
  if (absl::Status s = ValidateFailure(error, message); !s.ok()) return s;
  Effects effects;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Item*> found = FindCurrentLease(token, effects);
    if (!found.ok()) {
      status = found.status();
    } else {
      WorkOutcome outcome = OutcomeOf((*found)->lease.cancel_requested
                                          ? WorkOutcomeKind::kCancelled
                                          : WorkOutcomeKind::kFailed);
      outcome.error = std::move(error);
      outcome.message = std::move(message);
      outcome.retryable = retryable;
      End(**found, std::move(outcome), /*answered=*/true, effects);
    }
  }
  Run(std::move(effects));
  return status;
}

bool WorkQueues::RequestCancel(absl::string_view task_id) {
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    auto it = items_.find(task_id);
    if (it == items_.end()) return false;
    Item& item = it->second;
    if (item.leased) {
      item.lease.cancel_requested = true;
    } else {
      WorkOutcome outcome = OutcomeOf(WorkOutcomeKind::kCancelled);
      outcome.message = "cancelled before a worker took it";
      End(item, std::move(outcome), /*answered=*/false, effects);
    }
  }
  Run(std::move(effects));
  return true;
}

}  // namespace corosched::server
