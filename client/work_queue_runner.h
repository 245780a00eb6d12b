#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/work_calls.h"
#include "client/work_heartbeats.h"
#include "client/work_lease.h"
#include "client/worker.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/sync_stream.h"

namespace corosched {

// What a Worker's queues share: its options, calls, heartbeats, counters.
struct WorkerShared {
  WorkerShared(const std::shared_ptr<grpc::ChannelInterface>& channel,
               CallHeaders headers, WorkerOptions worker_options);

  // Calls options.on_error, if set.
  void ReportError(const absl::Status& status) const;

  const WorkerOptions options;  // identity filled in
  absl::Notification hard_stop;
  WorkCalls calls;
  WorkHeartbeats heartbeats;
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> lease_lost{0};
  std::atomic<uint64_t> answers_retried{0};
};

// One handled queue of a Worker: a receiver thread that takes items (a
// WorkStream granting credit, or PollWork) and `concurrency` handler threads
// that run and answer them.
//
// Invariants:
//   - held_ (items received and not yet answered) plus credit_ (granted on
//     the current stream and not yet used) is at most concurrency_, and
//     credit_ is at most 100 (the daemon ignores unused credit past 100):
//     TopUpCredit grants what both bounds allow when a stream opens, when
//     an item arrives and when a slot frees. A poll asks for at most the
//     free slots.
//   - A stream's credit dies with it: a new stream starts from zero.
//
// Stop: BeginStop sets stopping_ (no credit, no polls from then on) and
// half-closes the stream (the daemon ends it after the items it already
// sent) or cancels the poll (the daemon takes back what it had not sent).
// Handler threads run what was received, answer it, and end once the
// receiver has ended and nothing is pending.
//
// Thread-safety: Start, BeginStop and Join may be called from any thread;
// Join once.
class WorkQueueRunner {
 public:
  WorkQueueRunner(std::string queue, int concurrency, WorkHandler handler,
                  WorkerShared& shared);
  // REQUIRES: not started, or joined.
  ~WorkQueueRunner();
  WorkQueueRunner(const WorkQueueRunner&) = delete;
  WorkQueueRunner& operator=(const WorkQueueRunner&) = delete;

  const std::string& queue() const { return queue_; }

  void Start();
  // Takes nothing new from now on. `hard`: cancels held items and fails
  // those not yet started as "worker_stopped".
  void BeginStop(bool hard) ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // REQUIRES: BeginStop was called. Joins every thread.
  void Join() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Stream = grpc::ClientReaderWriterInterface<v1::WorkStreamRequest,
                                                   v1::WorkStreamResponse>;
  // Receiving (the receiver thread).
  void ReceiveStream();
  // Runs one stream until it ends: its status, and whether it gave items.
  grpc::Status RunStream(bool* delivered);
  void ReceivePoll();
  bool HasFreeSlotOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `used_credit`: it came on the stream, against credit.
  void Deliver(v1::WorkItem item, bool used_credit) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits out the back-off after `failures` failures; false if stopping.
  bool WaitBackoff(int failures) ABSL_LOCKS_EXCLUDED(mu_);
  // Grants the current stream the credit the free slots allow (none while
  // stopping or between streams).
  void TopUpCredit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Handling (the handler threads).
  void HandleLoop();
  bool HasWorkOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunItem(const std::shared_ptr<WorkLease>& lease, bool hard);
  absl::StatusOr<google::protobuf::Value> CallHandler(WorkContext& context);
  void Answer(const WorkLease& lease,
              const absl::StatusOr<google::protobuf::Value>& result);
  void SlotFreed() ABSL_LOCKS_EXCLUDED(write_mu_, mu_);

  const std::string queue_;
  const int concurrency_;
  const WorkHandler handler_;
  WorkerShared& shared_;

  // Serializes writes on the current stream (open, credit, half-close).
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  Stream* stream_ ABSL_GUARDED_BY(write_mu_) = nullptr;
  bool writes_done_ ABSL_GUARDED_BY(write_mu_) = false;

  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<WorkLease>> pending_ ABSL_GUARDED_BY(mu_);
  std::map<const WorkLease*, std::shared_ptr<WorkLease>> running_
      ABSL_GUARDED_BY(mu_);
  int held_ ABSL_GUARDED_BY(mu_) = 0;
  // Credit granted on the current stream and not yet used.
  int credit_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool hard_ ABSL_GUARDED_BY(mu_) = false;
  bool receiver_done_ ABSL_GUARDED_BY(mu_) = false;
  // The receiver's live call (stream or poll), to cancel it.
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;

  std::thread receiver_;
  std::vector<std::thread> handlers_;
};

}  // namespace corosched
