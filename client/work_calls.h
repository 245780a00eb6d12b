#pragma once

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/connection.h"
#include "client/work_error.h"
#include "client/work_lease.h"
#include "client/worker.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "grpcpp/client_context.h"

namespace corosched {

// How the answer for one item ended.
enum class AnswerOutcome {
  kCompleted,  // CompleteWork accepted, now or by an earlier send
  kFailed,     // FailWork accepted, now or by an earlier send
  kLeaseLost,  // refused FAILED_PRECONDITION: the lease had ended
  kGaveUp,     // still failing at the retry deadline or a hard stop, or a
               // code no retry can fix
};

struct AnswerResult {
  AnswerOutcome outcome = AnswerOutcome::kGaveUp;
  // The last refusal or error, for kLeaseLost and kGaveUp.
  absl::Status status;
  // How many sends were repeats of an earlier one.
  int retries = 0;
};

// The unary work RPCs a Worker makes about held items, with the worker's
// call timeout and its answer retries (see WorkerOptions). A repeat the
// daemon reports as such ("already completed" / "already failed") is the
// first send's success.
//
// Thread-safety: every method may be called from any thread.
class WorkCalls {
 public:
  // `hard_stop`, once notified, ends answer retries early; it must outlive
  // this object. Every call carries `headers`.
  WorkCalls(const std::shared_ptr<grpc::ChannelInterface>& channel,
            CallHeaders headers, const WorkerOptions& options,
            const absl::Notification* hard_stop);

  v1::Scheduler::StubInterface& stub() { return *stub_; }
  // Adds the worker's headers (token, namespace) to a new call's context.
  void AddHeaders(grpc::ClientContext* context) const {
    headers_.AddTo(context);
  }
  // A deadline call_timeout (plus `extra`) from now.
  void SetDeadline(grpc::ClientContext* context,
                   absl::Duration extra = absl::ZeroDuration()) const;

  // One heartbeat with the lease's latest progress; no retries. Its
  // deadline is call_timeout or a third of the heartbeat interval, the
  // shorter.
  absl::StatusOr<v1::HeartbeatWorkResponse> Heartbeat(const WorkLease& lease);

  // CompleteWork; a result the daemon refuses (INVALID_ARGUMENT or
  // RESOURCE_EXHAUSTED: malformed or too large) fails the item instead as
  // "invalid_result", not retryable.
  AnswerResult Complete(const WorkLease& lease,
                        const google::protobuf::Value& result);
  AnswerResult Fail(const WorkLease& lease, const WorkFailure& failure);

 private:
  using Send = std::function<grpc::Status(grpc::ClientContext*)>;
  // Sends until accepted, refused, or the retry deadline.
  AnswerResult SendAnswer(const WorkLease& lease, const Send& send,
                          AnswerOutcome accepted,
                          absl::string_view repeat_prefix);

  const std::unique_ptr<v1::Scheduler::StubInterface> stub_;
  const CallHeaders headers_;
  const WorkerOptions options_;
  const absl::Notification* const hard_stop_;
};

// The back-off after `attempt` failures (1, 2, ...): initial * 2^(attempt-1),
// at most `max`.
absl::Duration Backoff(int attempt, absl::Duration initial, absl::Duration max);

}  // namespace corosched
