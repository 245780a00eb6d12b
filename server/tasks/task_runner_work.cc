// TaskRunner's part in work dispatch: attempts onto WorkQueues, their
// outcomes back to the tasks, leases recorded before workers see them, and
// worker answers acknowledged once recorded.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/machine/proto_time.h"
#include "core/machine/value.h"
#include "server/daemon/logging.h"
#include "server/store/namespace_keys.h"
#include "server/tasks/task_runner.h"  // IWYU pragma: associated
#include "server/work/work_token.h"
#include "spdlog/spdlog.h"

namespace corosched::server {
namespace {

// The error names a lease's own ends give the task's `retry` and `catch`.
machine::WorkFailure FailureOf(const WorkOutcome& outcome) {
  switch (outcome.kind) {
    case WorkOutcomeKind::kFailed:
      return {outcome.error, outcome.message, outcome.retryable};
    case WorkOutcomeKind::kHeartbeatTimeout:
      return {WorkOutcomeLabel(outcome.kind),
              "the worker sent no heartbeat within the work's heartbeat "
              "interval",
              true};
    case WorkOutcomeKind::kTimeout:
      return {WorkOutcomeLabel(outcome.kind),
              "the worker did not answer within the work's timeout", true};
    case WorkOutcomeKind::kScheduleTimeout:
      return {WorkOutcomeLabel(outcome.kind),
              "no worker took the item within the work's schedule timeout",
              true};
    case WorkOutcomeKind::kCompleted:
    case WorkOutcomeKind::kCancelled:
      break;
  }
  return {"internal", "unexpected outcome", false};
}

// What a task can hold of a worker's result: the checks CompleteWork makes
// before the lease ends, so a bad result leaves the lease to the worker.
absl::Status CheckResult(const machine::Program& program,
                         const google::protobuf::Value& result) {
  absl::StatusOr<machine::Value> value = machine::ValueFromJson(result);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("result: ", value.status().message()));
  }
  const size_t bytes = machine::ValueBytes(*value);
  if (bytes > program.limits().max_value_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("result: ", bytes, " bytes as JSON, over the limit of ",
                     program.limits().max_value_bytes, " bytes per value"));
  }
  return absl::OkStatus();
}

v1::WorkLeaseRecord ToLeaseProto(const LeaseRecord& lease) {
  v1::WorkLeaseRecord proto;
  proto.set_nonce(lease.nonce);
  proto.set_worker_identity(lease.worker_identity);
  *proto.mutable_started_at() = machine::ToProtoTimestamp(lease.started_at);
  if (lease.heartbeat_deadline != absl::InfiniteFuture()) {
    *proto.mutable_heartbeat_deadline() =
        machine::ToProtoTimestamp(lease.heartbeat_deadline);
  }
  if (lease.timeout_deadline != absl::InfiniteFuture()) {
    *proto.mutable_timeout_deadline() =
        machine::ToProtoTimestamp(lease.timeout_deadline);
  }
  proto.set_cancel_requested(lease.cancel_requested);
  return proto;
}

absl::Time TimeOf(const google::protobuf::Timestamp& timestamp) {
  return machine::FromProtoTimestamp(timestamp).value_or(
      absl::InfiniteFuture());
}

WorkSpec SpecOf(const std::string& task_id, const machine::WorkOrder& order) {
  WorkSpec spec;
  spec.task_id = task_id;
  spec.attempt = order.attempt;
  // The queue of the task's namespace: another namespace's workers never
  // see its items.
  spec.queue =
      NamespacedKey(SplitNamespacedKey(task_id).namespace_name, order.queue);
  spec.input = order.input;
  spec.timeout = order.timeout;
  spec.heartbeat = order.heartbeat;
  spec.schedule_timeout = order.schedule_timeout;
  spec.scheduled_at = order.scheduled_at;
  return spec;
}

}  // namespace

TaskRunner::TaskRunner(Executor& executor, TaskStore& store, StreamHub& hub,
                       ServerMetrics* metrics,
                       WorkQueuesObserver* work_observer)
    : executor_(executor),
      store_(store),
      recorder_(store, hub, *executor.clock()),
      metrics_(metrics),
      work_(
          *executor.clock(),
          [this](WorkOutcome outcome) { OnWorkOutcome(std::move(outcome)); },
          [this](absl::Time deadline) { work_timer_.Rearm(deadline); },
          work_observer),
      work_timer_(*executor.clock(), work_) {}

std::shared_ptr<LiveTask> TaskRunner::FindRunning(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second;
}

void TaskRunner::PutWork(LiveTask& live, machine::WorkOrder order) {
  const uint32_t attempt = order.attempt;
  absl::Status queued = work_.Enqueue(SpecOf(live.id(), order));
  if (queued.ok()) return;
  spdlog::warn("event=work_enqueue_failed task={} queue={} {}",
               LogValue(live.id()), LogValue(order.queue), LogStatus(queued));
  // The attempt fails as any other would: the state's retry decides.
  absl::Status failed = live.task().FailWork(
      attempt, machine::WorkFailure{"dispatch_failed",
                                    std::string(queued.message()), true});
  if (!failed.ok()) {
    spdlog::error("event=work_fail_refused task={} {}", LogValue(live.id()),
                  LogStatus(failed));
  }
}

void TaskRunner::ResumeWork(const LiveTask& live,
                            const v1::TaskSnapshot& snapshot,
                            const machine::WorkOrder& order) {
  WorkSpec spec = SpecOf(live.id(), order);
  absl::Status restored;
  const v1::WorkLeaseRecord& lease = snapshot.work().lease();
  if (!lease.nonce().empty()) {
    LeaseRecord record;
    record.task_id = live.id();
    record.attempt = order.attempt;
    record.queue = spec.queue;
    record.worker_identity = lease.worker_identity();
    record.nonce = lease.nonce();
    record.scheduled_at = order.scheduled_at;
    record.started_at = TimeOf(lease.started_at());
    if (lease.has_heartbeat_deadline()) {
      record.heartbeat_deadline = TimeOf(lease.heartbeat_deadline());
    }
    if (lease.has_timeout_deadline()) {
      record.timeout_deadline = TimeOf(lease.timeout_deadline());
    }
    record.heartbeat = order.heartbeat;
    record.cancel_requested = lease.cancel_requested();
    restored = work_.Restore(std::move(record));
  } else {
    restored = work_.Enqueue(std::move(spec));
  }
  if (!restored.ok()) {
    spdlog::error("event=work_resume_failed task={} {}", LogValue(live.id()),
                  LogStatus(restored));
  }
}

void TaskRunner::OnWorkOutcome(WorkOutcome outcome) {
  if (outcome.kind == WorkOutcomeKind::kCancelled) return;  // task ending
  std::shared_ptr<LiveTask> live = FindRunning(outcome.task_id);
  if (live == nullptr) return;  // ended meanwhile
  absl::Status applied =
      outcome.kind == WorkOutcomeKind::kCompleted
          ? live->task().CompleteWork(outcome.attempt,
                                      std::move(outcome.result))
          : live->task().FailWork(outcome.attempt, FailureOf(outcome));
  if (!applied.ok()) {
    // The task ended or moved on first; its record answers any waiter.
    spdlog::debug("event=work_outcome_dropped task={} attempt={} {}",
                  LogValue(outcome.task_id), outcome.attempt,
                  LogStatus(applied));
  }
}

void TaskRunner::CompleteWork(std::string token, google::protobuf::Value result,
                              WorkAnswerCallback done) {
  // A completion without a result (the field left unset) completes with
  // null, as a JSON worker that sends no result means.
  if (result.kind_case() == google::protobuf::Value::KIND_NOT_SET) {
    result.set_null_value(google::protobuf::NULL_VALUE);
  }
  absl::StatusOr<WorkToken> decoded = WorkToken::Decode(token);
  if (decoded.ok()) {
    std::shared_ptr<LiveTask> live = FindRunning(decoded->task_id);
    if (live != nullptr) {
      if (absl::Status checked = CheckResult(live->program(), result);
          !checked.ok()) {
        std::move(done)(checked);
        return;
      }
    }
  }
  AnswerWork(
      token,
      [this, &token, result = std::move(result)]() mutable {
        return work_.Complete(token, std::move(result));
      },
      std::move(done));
}

void TaskRunner::FailWork(std::string token, machine::WorkFailure failure,
                          WorkAnswerCallback done) {
  AnswerWork(
      token,
      [this, &token, failure = std::move(failure)]() mutable {
        return work_.Fail(token, std::move(failure.error),
                          std::move(failure.message), failure.retryable);
      },
      std::move(done));
}

void TaskRunner::AnswerWork(const std::string& token,
                            absl::AnyInvocable<absl::Status()> answer,
                            WorkAnswerCallback done) {
  absl::StatusOr<WorkToken> decoded = WorkToken::Decode(token);
  if (!decoded.ok()) {
    std::move(done)(decoded.status());
    return;
  }
  std::shared_ptr<LiveTask> live = FindRunning(decoded->task_id);
  if (live == nullptr) {
    // No task runs here under that id: no lease can be current, and
    // WorkQueues says which refusal (ended, or an "already" answer), unless
    // the task runs on another daemon now.
    AnswerRefusedToken(token, answer(), std::move(done));
    return;
  }
  // Expected before the lease ends: the record that shows the answer taken
  // may be queued the moment the task hears of it, on another thread.
  auto shared = std::make_shared<WorkAnswerCallback>(std::move(done));
  const uint64_t waiter =
      recorder_.ExpectAnswer(live, decoded->attempt, decoded->nonce,
                             [shared](const absl::Status& recorded) {
                               std::move (*shared)(recorded);
                             });
  absl::Status answered = answer();
  if (!answered.ok() && TaskRecorder::DropExpectedAnswer(*live, waiter)) {
    std::move (*shared)(answered);
  }
}

void TaskRunner::StoreLeases(
    std::vector<WorkLease> leases,
    absl::AnyInvocable<void(std::vector<WorkLease>) &&> done) {
  // Answers `done` once every lease's write is answered.
  struct Pending {
    absl::Mutex mu;
    size_t left ABSL_GUARDED_BY(mu) = 0;
    std::vector<WorkLease> stored ABSL_GUARDED_BY(mu);
    absl::AnyInvocable<void(std::vector<WorkLease>) &&> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  {
    absl::MutexLock lock(&pending->mu);
    pending->left = leases.size() + 1;  // +1: released after the loop
  }
  auto finish_one = [this, pending](std::optional<WorkLease> lease,
                                    const absl::Status& stored) {
    if (lease.has_value() && !stored.ok()) {
      spdlog::warn("event=lease_store_failed task={} {}",
                   LogValue(lease->record.task_id), LogStatus(stored));
      (void)work_.ReturnUndelivered(lease->token);
      lease.reset();
    }
    std::vector<WorkLease> all;
    {
      absl::MutexLock lock(&pending->mu);
      if (lease.has_value()) pending->stored.push_back(*std::move(lease));
      if (--pending->left > 0) return;
      all = std::move(pending->stored);
    }
    std::move(pending->done)(std::move(all));
  };
  for (WorkLease& lease : leases) {
    std::shared_ptr<LiveTask> live = FindRunning(lease.record.task_id);
    if (live == nullptr) {
      // The task ended (or was unloaded at shutdown) after its item was
      // dispatched. The item still goes to its worker, marked cancelled as
      // if the cancel had come after the lease: its first heartbeat says
      // so, a completion is refused and a failure ends it. Handed back to
      // the queue instead, it would cost a stream the credit it spent.
      work_.RequestCancel(lease.record.task_id);
      finish_one(std::move(lease), absl::OkStatus());
      continue;
    }
    const uint32_t attempt = lease.record.attempt;
    v1::WorkLeaseRecord record = ToLeaseProto(lease.record);
    recorder_.RecordLease(live, attempt, std::move(record),
                          [finish_one, lease = std::move(lease)](
                              const absl::Status& stored) mutable {
                            finish_one(std::move(lease), stored);
                          });
  }
  finish_one(std::nullopt, absl::OkStatus());
}

}  // namespace corosched::server
