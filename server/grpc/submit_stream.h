#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "corosched/v1/scheduler.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/auth/authorizer.h"
#include "server/grpc/parsed_request.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_service.h"

namespace corosched::server {

// One SubmitTasks stream: each request is submitted as SubmitTask would,
// and answered in request order with its index and status; a failed item
// does not end the stream. Reading, submitting and writing overlap: a read
// is kept outstanding while earlier requests wait for their store commit
// (so one commit can hold many of them) and answers are written, up to
// kMaxQueued requests not yet answered on the wire, past which reading
// pauses until the client takes some.
//
// A request whose bytes are not a SubmitTaskRequest is such a failed item:
// answered INVALID_ARGUMENT in its turn (see ParsedRequest).
//
// Ends with OK once the client half-closes and every answer is written,
// CANCELLED when the client goes away, UNAVAILABLE at daemon shutdown.
//
// Ownership: the reactor owns itself (self_) from Start until OnDone.
// Thread-safety: reactions and hub calls may run concurrently; mu_ orders
// them. StartRead, StartWrite and Finish are called outside mu_.
class SubmitStream final
    : public grpc::ServerBidiReactor<ParsedRequest<v1::SubmitTaskRequest>,
                                     v1::SubmitTasksResponse>,
      public OpenStream {
 public:
  static constexpr size_t kMaxQueued = 64;

  static grpc::ServerBidiReactor<ParsedRequest<v1::SubmitTaskRequest>,
                                 v1::SubmitTasksResponse>*
  // Submits in `scope`'s namespace, holding `scope` until the stream ends.
  Start(TaskService& tasks, StreamHub& hub, CallScope scope);

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnDone() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnTaskEvents() override {}
  void OnShutdown() override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SubmitStream(TaskService& tasks, StreamHub& hub, CallScope scope)
      : tasks_(tasks), hub_(hub), scope_(std::move(scope)) {}

  // An answer slot, filled when its submit is stored.
  struct Slot {
    uint64_t index = 0;
    std::optional<v1::SubmitTasksResponse> answer;
  };

  // Submits request_ (the read just completed) as item `index`.
  void Submit(uint64_t index);
  // Fills item `index`'s slot; writes it if it is next.
  void Answered(uint64_t index, v1::SubmitTasksResponse answer)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The next answer to write, if it is ready and nothing is being written.
  // REQUIRES: mu_ held.
  const v1::SubmitTasksResponse* NextWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finishes with `status` now, or after the write in flight.
  void RequestFinish(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether to start another read now. REQUIRES: mu_ held.
  bool ShouldRead() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  TaskService& tasks_;
  StreamHub& hub_;
  const CallScope scope_;
  std::shared_ptr<SubmitStream> self_;
  // The read buffer; only touched between StartRead and OnReadDone.
  ParsedRequest<v1::SubmitTaskRequest> request_;

  absl::Mutex mu_;
  std::optional<StreamHub::Token> token_ ABSL_GUARDED_BY(mu_);
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  // Items not yet written, in index order, the front one first_index_; the
  // front is being written when writing_. A deque, so pushing keeps the
  // front's address stable.
  std::deque<Slot> answers_ ABSL_GUARDED_BY(mu_);
  uint64_t first_index_ ABSL_GUARDED_BY(mu_) = 0;
  // A read is outstanding, or its request is being answered.
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
