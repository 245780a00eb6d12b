#include "client/work_calls.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/status.h"

namespace corosched {

absl::Duration Backoff(int attempt, absl::Duration initial,
                       absl::Duration max) {
  absl::Duration backoff = initial;
  for (int i = 1; i < attempt && backoff < max; ++i) backoff *= 2;
  return std::min(backoff, max);
}

WorkCalls::WorkCalls(const std::shared_ptr<grpc::ChannelInterface>& channel,
                     CallHeaders headers, const WorkerOptions& options,
                     const absl::Notification* hard_stop)
    : stub_(v1::Scheduler::NewStub(channel)),
      headers_(std::move(headers)),
      options_(options),
      hard_stop_(hard_stop) {}

void WorkCalls::SetDeadline(grpc::ClientContext* context,
                            absl::Duration extra) const {
  context->set_deadline(
      absl::ToChronoTime(absl::Now() + options_.call_timeout + extra));
}

absl::StatusOr<v1::HeartbeatWorkResponse> WorkCalls::Heartbeat(
    const WorkLease& lease) {
  v1::HeartbeatWorkRequest request;
  request.set_token(lease.item().token());
  if (std::optional<google::protobuf::Value> details = lease.progress()) {
    *request.mutable_details() = *std::move(details);
  }
  grpc::ClientContext context;
  AddHeaders(&context);
  // At most a third of the interval, so one slow heartbeat does not hold
  // back the next (of this item or of another) past its deadline.
  const absl::Duration third = lease.heartbeat_interval() / 3;
  context.set_deadline(absl::ToChronoTime(
      absl::Now() + (third > absl::ZeroDuration()
                         ? std::min(options_.call_timeout, third)
                         : options_.call_timeout)));
  v1::HeartbeatWorkResponse response;
  absl::Status status =
      FromGrpcStatus(stub_->HeartbeatWork(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

AnswerResult WorkCalls::Complete(const WorkLease& lease,
                                 const google::protobuf::Value& result) {
  v1::CompleteWorkRequest request;
  request.set_token(lease.item().token());
  *request.mutable_result() = result;
  AnswerResult answer = SendAnswer(
      lease,
      [&](grpc::ClientContext* context) {
        v1::CompleteWorkResponse response;
        return stub_->CompleteWork(context, request, &response);
      },
      AnswerOutcome::kCompleted, "already completed");
  const absl::StatusCode code = answer.status.code();
  if (answer.outcome != AnswerOutcome::kGaveUp ||
      (code != absl::StatusCode::kInvalidArgument &&
       code != absl::StatusCode::kResourceExhausted)) {
    return answer;
  }
  WorkFailure failure = FailureFromStatus(absl::InvalidArgumentError(
      absl::StrCat("the daemon refused the handler's result: ",
                   answer.status.message())));
  failure.error = "invalid_result";
  AnswerResult failed = Fail(lease, failure);
  failed.retries += answer.retries;
  return failed;
}

AnswerResult WorkCalls::Fail(const WorkLease& lease,
                             const WorkFailure& failure) {
  v1::FailWorkRequest request;
  request.set_token(lease.item().token());
  request.set_error(failure.error);
  request.set_message(failure.message);
  request.set_retryable(failure.retryable);
  return SendAnswer(
      lease,
      [&](grpc::ClientContext* context) {
        v1::FailWorkResponse response;
        return stub_->FailWork(context, request, &response);
      },
      AnswerOutcome::kFailed, "already failed");
}

AnswerResult WorkCalls::SendAnswer(const WorkLease& lease, const Send& send,
                                   AnswerOutcome accepted,
                                   absl::string_view repeat_prefix) {
  const absl::Time retry_until =
      lease.timeout_deadline() != absl::InfiniteFuture()
          ? lease.timeout_deadline()
          : absl::Now() + options_.answer_retry_for;
  AnswerResult answer;
  for (int sends = 1;; ++sends) {
    grpc::ClientContext context;
    AddHeaders(&context);
    SetDeadline(&context);
    absl::Status status = FromGrpcStatus(send(&context));
    answer.retries = sends - 1;
    if (status.ok()) {
      answer.outcome = accepted;
      answer.status = absl::OkStatus();
      return answer;
    }
    answer.status = status;
    if (status.code() == absl::StatusCode::kFailedPrecondition) {
      // A repeat of an accepted answer: the first send was taken.
      answer.outcome = absl::StartsWith(status.message(), repeat_prefix)
                           ? accepted
                           : AnswerOutcome::kLeaseLost;
      return answer;
    }
    answer.outcome = AnswerOutcome::kGaveUp;
    if (status.code() != absl::StatusCode::kUnavailable &&
        status.code() != absl::StatusCode::kDeadlineExceeded) {
      return answer;
    }
    const absl::Duration wait =
        Backoff(sends, options_.retry_backoff, options_.max_retry_backoff);
    if (absl::Now() + wait >= retry_until) return answer;
    if (hard_stop_->WaitForNotificationWithTimeout(wait)) return answer;
  }
}

}  // namespace corosched
