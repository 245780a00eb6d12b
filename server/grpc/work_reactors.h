#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "corosched/v1/work.pb.h"
#include "grpcpp/support/server_callback.h"
#include "server/auth/authorizer.h"
#include "server/grpc/parsed_request.h"
#include "server/tasks/task_runner.h"

namespace corosched::server {

// The WorkItem a worker receives for `lease`: its task and queue by the
// names the worker's namespace knows them by.
v1::WorkItem ToWorkItem(const WorkLease& lease);

// One PollWork call: a long poll on WorkQueues. The items it takes are
// recorded (TaskRunner::StoreLeases) before the answer carries their
// tokens. A client that goes away while parked is removed from the queue;
// items answered to a client that went away meanwhile go back to the head
// of their queue.
//
// Ownership: owns itself (self_) until OnDone; the queues' callback holds
// it too until it ran.
class PollWorkReactor final : public grpc::ServerUnaryReactor {
 public:
  // Polls the queue of that name in `scope`'s namespace, holding `scope`
  // until the call ends.
  static grpc::ServerUnaryReactor* Start(grpc::CallbackServerContext* context,
                                         TaskRunner& runner,
                                         const CallScope& scope,
                                         const v1::PollWorkRequest& request,
                                         v1::PollWorkResponse* response);

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnDone() override;

 private:
  PollWorkReactor(grpc::CallbackServerContext* context, TaskRunner& runner,
                  const CallScope& scope, v1::PollWorkResponse* response)
      : context_(context),
        runner_(runner),
        scope_(scope),
        response_(response) {}

  // The queues' answer: records the leases, then finishes with them.
  void Answered(std::vector<WorkLease> leases);
  // Finishes once (the first caller wins).
  void FinishOnce(const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_);

  grpc::CallbackServerContext* const context_;
  TaskRunner& runner_;
  const CallScope scope_;
  v1::PollWorkResponse* const response_;
  std::shared_ptr<PollWorkReactor> self_;
  absl::Mutex mu_;
  std::optional<WorkQueues::ConsumerId> parked_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// One WorkStream call: the first request opens a stream consumer on a
// queue, each request adds credit, and each item the queues send against
// credit is recorded, then written. Writes go out one at a time, in the
// order their records were stored. When the client half-closes, breaks
// or the call is cancelled, the consumer is removed; an item still on its
// way goes back to its queue's head, and items already written stay leased
// to the worker (they end by its answer or their deadlines).
//
// Ownership: owns itself (self_) until OnDone; queue callbacks hold a
// shared pointer.
class WorkStreamReactor final
    : public grpc::ServerBidiReactor<ParsedRequest<v1::WorkStreamRequest>,
                                     v1::WorkStreamResponse>,
      public std::enable_shared_from_this<WorkStreamReactor> {
 public:
  static grpc::ServerBidiReactor<ParsedRequest<v1::WorkStreamRequest>,
                                 v1::WorkStreamResponse>*
  // Opens the stream on the queue of its name in `scope`'s namespace,
  // holding `scope` until the stream ends.
  Start(TaskRunner& runner, CallScope scope);

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnDone() override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  WorkStreamReactor(TaskRunner& runner, CallScope scope)
      : runner_(runner), scope_(std::move(scope)) {}

  // Acts on request_ (the read just completed); an error ends the stream.
  absl::Status Handle() ABSL_LOCKS_EXCLUDED(mu_);
  // An item the queues leased to this stream.
  void Leased(WorkLease lease);
  // Its lease is recorded: writes it, or returns it if the stream is over.
  void Stored(std::vector<WorkLease> leases) ABSL_LOCKS_EXCLUDED(mu_);
  // Starts the next write if none is in flight. REQUIRES: mu_ held;
  // returns the message to StartWrite outside mu_, or null.
  const v1::WorkStreamResponse* NextWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the consumer and finishes with `status` once no write is in
  // flight; leases not yet written go back to their queues.
  void End(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_);

  TaskRunner& runner_;
  const CallScope scope_;
  std::shared_ptr<WorkStreamReactor> self_;
  ParsedRequest<v1::WorkStreamRequest> request_;

  absl::Mutex mu_;
  std::optional<WorkQueues::ConsumerId> consumer_ ABSL_GUARDED_BY(mu_);
  // Recorded leases waiting to be written, the front one being written
  // when writing_.
  std::deque<std::pair<std::string, v1::WorkStreamResponse>> outbox_
      ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // Leases being recorded (StoreLeases not yet answered).
  int storing_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<grpc::Status> ending_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace corosched::server
