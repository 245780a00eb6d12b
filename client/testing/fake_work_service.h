#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "grpcpp/server.h"

namespace corosched::testing {

// The five worker RPCs of corosched.v1.Scheduler (PollWork, WorkStream,
// CompleteWork, FailWork, HeartbeatWork) in memory, with controls for
// tests: queue items, cancel a task, end a lease, fail or drop answers,
// break streams, and wait (bounded) for what the worker did. Leases follow
// the daemon's rules: an item is sent against credit or poll slots only; a
// token of an ended lease is refused FAILED_PRECONDITION; a repeat of an
// accepted answer is FAILED_PRECONDITION "already completed" / "already
// failed". Deadlines are reported but never enforced (tests end leases by
// hand).
//
// Thread-safety: every method may be called from any thread.
class FakeWorkService final : public v1::Scheduler::Service {
 public:
  struct Answer {
    std::string token;
    std::string task_id;
    bool completed = false;          // CompleteWork, else FailWork
    google::protobuf::Value result;  // completed
    std::string error;               // failed
    std::string message;             // failed
    bool retryable = false;          // failed
  };
  struct Heartbeat {
    std::string token;
    bool has_details = false;
    google::protobuf::Value details;
  };

  // Queues one item on `queue` and returns its token. A zero `heartbeat`
  // or `timeout` leaves that deadline unset.
  std::string Enqueue(const std::string& queue, const std::string& task_id,
                      google::protobuf::Value input = {},
                      absl::Duration heartbeat = absl::ZeroDuration(),
                      absl::Duration timeout = absl::ZeroDuration())
      ABSL_LOCKS_EXCLUDED(mu_);

  // Heartbeats of `token` answer cancel_requested from now on.
  void RequestCancel(const std::string& token) ABSL_LOCKS_EXCLUDED(mu_);
  // The lease of `token` ends: its calls are refused FAILED_PRECONDITION.
  void EndLease(const std::string& token) ABSL_LOCKS_EXCLUDED(mu_);
  // The next `count` answers (Complete/Fail) fail UNAVAILABLE, not taken.
  void RefuseNextAnswers(int count) ABSL_LOCKS_EXCLUDED(mu_);
  // The next `count` answers are taken but reply UNAVAILABLE, as if the
  // reply was lost.
  void LoseNextAnswerReplies(int count) ABSL_LOCKS_EXCLUDED(mu_);
  // Every open WorkStream is cancelled by the server.
  void BreakStreams() ABSL_LOCKS_EXCLUDED(mu_);

  std::vector<Answer> answers() const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<Heartbeat> heartbeats() const ABSL_LOCKS_EXCLUDED(mu_);
  // Items sent to workers (streams and polls) so far.
  int delivered() const ABSL_LOCKS_EXCLUDED(mu_);
  // Answer calls received, taken or not.
  int answer_calls() const ABSL_LOCKS_EXCLUDED(mu_);
  int streams_opened() const ABSL_LOCKS_EXCLUDED(mu_);
  int polls() const ABSL_LOCKS_EXCLUDED(mu_);
  // The worker identity of the last stream or poll.
  std::string last_identity() const ABSL_LOCKS_EXCLUDED(mu_);
  // The "authorization" and "corosched-namespace" headers of the last call
  // of each method ("WorkStream", "CompleteWork", ...); "" when absent.
  struct CallHeaders {
    std::string authorization;
    std::string namespace_name;
  };
  std::map<std::string, CallHeaders> headers_seen() const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Bounded waits: true once the condition holds, false at `timeout`.
  bool WaitForAnswers(size_t count, absl::Duration timeout) const;
  bool WaitForDelivered(int count, absl::Duration timeout) const;
  bool WaitForHeartbeats(const std::string& token, int count,
                         absl::Duration timeout) const;
  bool WaitForStreamsOpened(int count, absl::Duration timeout) const;
  // Some stream is open, or some poll waits.
  bool WaitForReceiver(absl::Duration timeout) const;
  // No stream is open and no poll waits.
  bool WaitForNoReceiver(absl::Duration timeout) const;

  // Ends waiting polls and streams (for server shutdown).
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  grpc::Status PollWork(grpc::ServerContext* context,
                        const v1::PollWorkRequest* request,
                        v1::PollWorkResponse* response) override;
  grpc::Status WorkStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::WorkStreamResponse, v1::WorkStreamRequest>*
          stream) override;
  grpc::Status CompleteWork(grpc::ServerContext* context,
                            const v1::CompleteWorkRequest* request,
                            v1::CompleteWorkResponse* response) override;
  grpc::Status FailWork(grpc::ServerContext* context,
                        const v1::FailWorkRequest* request,
                        v1::FailWorkResponse* response) override;
  grpc::Status HeartbeatWork(grpc::ServerContext* context,
                             const v1::HeartbeatWorkRequest* request,
                             v1::HeartbeatWorkResponse* response) override;

 private:
  enum class LeaseState { kQueued, kLeased, kCompleted, kFailed, kEnded };
  struct Lease {
    v1::WorkItem item;
    absl::Duration heartbeat;
    absl::Duration timeout;
    LeaseState state = LeaseState::kQueued;
    bool cancel_requested = false;
  };
  struct StreamState {
    std::string queue;
    int credit = 0;
    bool broken = false;
    bool reads_done = false;
  };

  // Leases the next queued item on `queue` into `item`; false when none.
  bool TakeLocked(const std::string& queue, v1::WorkItem* item)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasQueuedLocked(const std::string& queue) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  grpc::Status AnswerLocked(Answer answer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordHeaders(const std::string& method,
                     const grpc::ServerContext& context)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until `ready()` (called with mu_ held) or `timeout`.
  template <typename Ready>
  bool WaitUntil(Ready ready, absl::Duration timeout) const
      ABSL_LOCKS_EXCLUDED(mu_);
  void StreamWriter(StreamState* state,
                    grpc::ServerReaderWriter<v1::WorkStreamResponse,
                                             v1::WorkStreamRequest>* stream);

  mutable absl::Mutex mu_;
  int next_token_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, Lease> leases_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<std::string>> queued_ ABSL_GUARDED_BY(mu_);
  std::vector<Answer> answers_ ABSL_GUARDED_BY(mu_);
  std::vector<Heartbeat> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::set<StreamState*> streams_ ABSL_GUARDED_BY(mu_);
  std::map<StreamState*, grpc::ServerContext*> stream_contexts_
      ABSL_GUARDED_BY(mu_);
  int delivered_ ABSL_GUARDED_BY(mu_) = 0;
  int answer_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int streams_opened_ ABSL_GUARDED_BY(mu_) = 0;
  int polls_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_polls_ ABSL_GUARDED_BY(mu_) = 0;
  int refuse_answers_ ABSL_GUARDED_BY(mu_) = 0;
  int lose_replies_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_identity_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, CallHeaders> headers_seen_ ABSL_GUARDED_BY(mu_);
};

// A real gRPC server on 127.0.0.1 (a free port) serving a FakeWorkService.
class FakeWorkServer {
 public:
  // Fails the calling test (gtest ASSERT) when the server cannot start;
  // check ok().
  FakeWorkServer();
  ~FakeWorkServer();
  FakeWorkServer(const FakeWorkServer&) = delete;
  FakeWorkServer& operator=(const FakeWorkServer&) = delete;

  bool ok() const { return server_ != nullptr; }
  FakeWorkService& service() { return service_; }
  // A new insecure channel to the server.
  std::shared_ptr<grpc::Channel> NewChannel() const;
  // "127.0.0.1:PORT".
  std::string address() const;

 private:
  FakeWorkService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace corosched::testing
