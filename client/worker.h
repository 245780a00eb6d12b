#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/connection.h"
#include "google/protobuf/struct.pb.h"
#include "grpcpp/channel.h"

namespace corosched {

class WorkLease;   // client/work_lease.h: one held item's shared state
class WorkerCore;  // client/worker.cc: the worker's queues and threads

// What a handler knows of the item it runs: one attempt of one task's
// `work` state, leased to this worker. Created by the Worker for each item
// and passed to the handler, which may keep it only for the duration of the
// call.
//
// Thread-safety: every method may be called from any thread while the
// handler runs (e.g. from threads the handler started).
class WorkContext {
 public:
  explicit WorkContext(std::shared_ptr<WorkLease> lease);
  ~WorkContext();
  WorkContext(const WorkContext&) = delete;
  WorkContext& operator=(const WorkContext&) = delete;

  const std::string& task_id() const;
  // 1 for the first attempt; each retry is a new attempt (and a new item).
  uint32_t attempt() const;
  const std::string& queue() const;
  // The work's input, as the task's `work` state gave it.
  const google::protobuf::Value& input() const;

  // The lease's current heartbeat deadline (moved on by each heartbeat the
  // worker sends for the item), or absl::InfiniteFuture() when the work
  // declares no heartbeat interval.
  absl::Time heartbeat_deadline() const;
  // The attempt's deadline, or absl::InfiniteFuture() when the work
  // declares no timeout. An answer after it is refused.
  absl::Time timeout_deadline() const;

  // True once the task was cancelled (a heartbeat answered
  // cancel_requested), the lease was lost (a heartbeat was refused), or the
  // worker is stopping at once (a second SIGTERM/SIGINT). The handler
  // should then stop and return; its answer is sent unless the lease was
  // lost (a failure is how a cancelled item is best answered).
  bool cancel_requested() const;

  // Progress so far, sent with the next heartbeat (the daemon reports the
  // latest with a timeout, so a retry may resume from it). Later calls
  // replace earlier details. Without a heartbeat interval nothing is sent.
  void SetProgress(google::protobuf::Value details);

  // Blocks until cancel_requested() or until `timeout` passes; returns
  // cancel_requested(). For handlers that wait on something else.
  bool WaitForCancel(absl::Duration timeout) const;

 private:
  std::shared_ptr<WorkLease> lease_;
};

// A failure a handler reports by returning it: the item is failed
// (FailWork) with `error` (a name for the kind of failure, e.g.
// "HttpTimeout"; 1 to 128 bytes, an empty one becomes "handler_error", a
// longer one is cut), `message` (for people; cut at 32 KiB) and
// `retryable` (false: the task's state does not retry it, whatever its
// policy allows). Any other non-OK status a handler returns fails the item
// with error = the status code's name in lower case ("unavailable",
// "invalid_argument", as a state's `retry` lists it), message = the status
// message, and retryable false only for the codes that say the input is at
// fault (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
// FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED). A
// handler that throws fails the item as "handler_exception", retryable.
absl::Status WorkError(absl::string_view error, absl::string_view message,
                       bool retryable = true);

// Runs one item: OK with the result completes it (CompleteWork); an error
// fails it (see WorkError). Runs on one of the queue's handler threads; may
// block (that slot takes no other item meanwhile).
using WorkHandler =
    std::function<absl::StatusOr<google::protobuf::Value>(WorkContext&)>;

struct WorkerOptions {
  // Shown in each lease, for operators; at most 256 bytes. Empty:
  // "<hostname>:<pid>".
  std::string identity;

  // kStream: one WorkStream per queue granting credit for free handler
  // slots (for high rates). kPoll: long polls (PollWork) taking up to the
  // free slots at a time, for proxies that do not pass streams.
  enum class Transport { kStream, kPoll };
  Transport transport = Transport::kStream;
  // kPoll: how long each poll waits for an item (0 to 60s).
  absl::Duration poll_wait = absl::Seconds(20);

  // Deadline of each unary call (poll: poll_wait plus this).
  absl::Duration call_timeout = absl::Seconds(10);
  // Answers (CompleteWork, FailWork) that fail UNAVAILABLE or
  // DEADLINE_EXCEEDED are sent again with exponential back-off, from
  // retry_backoff up to max_retry_backoff, until the lease's timeout
  // deadline; for work without a timeout, for at most answer_retry_for.
  // A stream or poll that fails is reopened with the same back-off.
  absl::Duration retry_backoff = absl::Milliseconds(100);
  absl::Duration max_retry_backoff = absl::Seconds(5);
  absl::Duration answer_retry_for = absl::Minutes(10);

  // Called (from the worker's threads, possibly at once) with each problem
  // the worker deals with itself: a stream reopened, a heartbeat or poll
  // that failed, an answer the daemon did not take. For logs; may be empty.
  std::function<void(const absl::Status&)> on_error;
};

// Takes items from the daemon's work queues and runs a handler for each,
// with automatic heartbeats, fenced answers and a graceful stop.
//
//   corosched::Worker worker(corosched::ClientOptions{
//       .address = "127.0.0.1:50051", .token = token,
//       .namespace_name = "billing"});
//   absl::Status handled = worker.Handle(
//       "jobs", /*concurrency=*/4,
//       [](corosched::WorkContext& work)
//           -> absl::StatusOr<google::protobuf::Value> {
//         if (!work.input().has_struct_value()) {
//           return corosched::WorkError("BadInput", "want an object",
//                                       /*retryable=*/false);
//         }
//         google::protobuf::Value result;
//         result.set_string_value("done");
//         return result;
//       });
//   corosched::Worker::StopOnSignals(worker);
//   absl::Status ran = worker.Run();  // until SIGTERM or SIGINT
//
// Per queue the worker runs `concurrency` handler threads and one receiver
// that never takes more items than there are free slots, so the worker
// holds at most `concurrency` items of a queue at once. While an item is
// held the worker heartbeats it (every third of its heartbeat interval,
// with the latest SetProgress details); an answer of cancel_requested
// surfaces as WorkContext::cancel_requested(). A heartbeat refused
// FAILED_PRECONDITION means the lease ended (timed out, superseded): the
// item is lost, the handler's eventual answer is not sent, and it counts
// as lease_lost. A refused answer the daemon reports as a repeat
// ("already completed" / "already failed") counts as answered.
//
// Guarantees: each attempt runs at least once per lease the daemon grants;
// an answer is fenced by the lease's token, so a late answer of an expired
// or superseded attempt changes nothing on the daemon.
//
// Lifecycle: Handle (one or more queues), then Start or Run once. Stop()
// (or the destructor) is graceful: the worker takes nothing new, runs and
// answers every item it holds, then joins its threads.
//
// Thread-safety: Handle, Start and Run from one thread, before or while
// starting; Stop, Wait, counters from any thread. Handlers run on the
// worker's threads, concurrently up to each queue's concurrency.
class Worker {
 public:
  // Over a channel of its own to connection.address, with its TLS files,
  // and connection.token and namespace_name on every call (the namespace
  // whose queues it serves). Options that cannot be used (see NewChannel
  // and CallHeaders) make Start return why.
  explicit Worker(const ClientOptions& connection, WorkerOptions options = {});
  // Over an existing channel, without headers.
  explicit Worker(const std::shared_ptr<grpc::ChannelInterface>& channel,
                  WorkerOptions options = {});
  // Stop(), then joins every thread.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before Start(): runs `handler` for items of `queue`, up to `concurrency`
  // (1 to 1000) at once. INVALID_ARGUMENT for a bad queue name (1 to 64 of
  // letters, digits, `_ - .`), concurrency or an empty handler;
  // ALREADY_EXISTS for a queue handled twice; FAILED_PRECONDITION after
  // Start().
  absl::Status Handle(std::string queue, int concurrency, WorkHandler handler);

  // Starts the threads and returns at once. FAILED_PRECONDITION when no
  // queue is handled or the worker was started before; INVALID_ARGUMENT for
  // bad options.
  absl::Status Start();
  // Graceful: takes nothing new, finishes and answers what it holds,
  // returns when every thread has ended. Idempotent; safe before Start.
  void Stop();
  // Blocks until the worker has stopped (by Stop() from another thread or
  // a signal after StopOnSignals); returns at once if never started.
  void Wait();
  // Start, then Wait: returns Start's error, or OK once stopped.
  absl::Status Run();

  // Installs SIGTERM and SIGINT handlers for the process: the first signal
  // stops `worker` gracefully (as Stop()), a second stops it at once (held
  // items' cancel_requested() turns true, items not yet started are failed
  // retryable as "worker_stopped"). Call before Start or Run; one worker
  // per process.
  static void StopOnSignals(Worker& worker);

  struct Counters {
    uint64_t completed = 0;        // completions accepted (or already accepted)
    uint64_t failed = 0;           // failures accepted (or already accepted)
    uint64_t lease_lost = 0;       // items whose answer was not sent/taken
    uint64_t answers_retried = 0;  // answers sent again after an RPC error
  };
  Counters counters() const;

 private:
  std::unique_ptr<WorkerCore> core_;
};

}  // namespace corosched
