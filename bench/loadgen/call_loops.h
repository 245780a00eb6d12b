#pragma once

// The call loops of corosched_loadgen (loadgen.cc): a unary chain and a
// pipelined SubmitTasks stream, the Run they share (when to stop issuing,
// who is still running) and the Tally each fills. Each loop keeps its calls
// outstanding from gRPC's callbacks, so no thread waits on a call.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/cpu_time.h"
#include "client/connection.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace corosched::loadgen {

namespace v1 = corosched::v1;
using Clock = std::chrono::steady_clock;

// CPU spent between Start and Stop, by this process and the server.
class CpuWindow {
 public:
  explicit CpuWindow(long server_pid) : server_pid_(server_pid) {}
  void Start() {
    client_start_ = corosched::bench::ProcessCpuSeconds();
    if (server_pid_ != 0)
      server_start_ = corosched::bench::ProcessCpuSeconds(server_pid_);
  }
  void Stop() {
    client_seconds_ = corosched::bench::ProcessCpuSeconds() - client_start_;
    if (server_pid_ == 0 || !server_start_.has_value()) return;
    if (std::optional<double> now =
            corosched::bench::ProcessCpuSeconds(server_pid_)) {
      server_seconds_ = *now - *server_start_;
    }
  }
  double client_seconds() const { return client_seconds_; }
  // Nullopt without --server-pid, or when /proc could not be read.
  std::optional<double> server_seconds() const { return server_seconds_; }

 private:
  const long server_pid_;
  double client_start_ = 0;
  double client_seconds_ = 0;
  std::optional<double> server_start_;
  std::optional<double> server_seconds_;
};

// What the run measured; each Loop fills its own, merged at the end.
struct Tally {
  int64_t ok = 0;
  int64_t errors = 0;
  // WakeTask answers BUFFERED rather than CONSUMED (the task was not yet
  // back in its await).
  int64_t buffered = 0;
  std::vector<uint32_t> latencies_us;
  std::string first_error;

  void Record(const grpc::Status& status, Clock::time_point start) {
    if (status.ok()) {
      ++ok;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          Clock::now() - start)
                          .count();
      latencies_us.push_back(static_cast<uint32_t>(us));
    } else {
      ++errors;
      if (first_error.empty()) {
        first_error =
            std::to_string(status.error_code()) + ": " + status.error_message();
      }
    }
  }
};

// Shared by every loop: when to stop issuing, and who is still running.
class Run {
 public:
  // Issues for `seconds` from now, or until `max_calls` calls; every call
  // carries `headers` (the token and namespace, if any).
  Run(double seconds, int64_t max_calls, CallHeaders headers)
      : deadline_(Clock::now() + std::chrono::microseconds(
                                     static_cast<int64_t>(seconds * 1e6))),
        max_calls_(max_calls),
        headers_(std::move(headers)) {}

  // Whether one more call may be issued (and counts it).
  bool Take() {
    return Clock::now() < deadline_ &&
           issued_.fetch_add(1, std::memory_order_relaxed) < max_calls_;
  }
  std::chrono::system_clock::time_point CallDeadline() const {
    return std::chrono::system_clock::now() + std::chrono::seconds(30);
  }
  // A new call's headers and deadline.
  void Prepare(grpc::ClientContext* context) const {
    headers_.AddTo(context);
    context->set_deadline(CallDeadline());
  }

  void Started() {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  void Finished(Tally tally) {
    absl::MutexLock lock(&mu_);
    --running_;
    tallies_.push_back(std::move(tally));
  }
  // Waits (bounded) for every loop to finish; false on timeout.
  bool Wait(absl::Duration limit) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return running_ == 0;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), limit);
  }
  std::vector<Tally> TakeTallies() {
    absl::MutexLock lock(&mu_);
    return std::move(tallies_);
  }

 private:
  const Clock::time_point deadline_;
  const int64_t max_calls_;
  const CallHeaders headers_;
  std::atomic<int64_t> issued_{0};
  absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Tally> tallies_ ABSL_GUARDED_BY(mu_);
};

bool Buffered(const v1::WakeTaskResponse& response) {
  return response.disposition() == v1::WakeTaskResponse::BUFFERED;
}
template <typename Response>
bool Buffered(const Response&) {
  return false;
}

// One chain of unary calls: the next is issued from the previous one's
// callback, so the chain's own state needs no lock.
template <typename Request, typename Response>
class UnaryLoop {
 public:
  using Issue = void (*)(v1::Scheduler::Stub*, grpc::ClientContext*,
                         const Request*, Response*,
                         std::function<void(grpc::Status)>);

  UnaryLoop(Run& run, v1::Scheduler::Stub* stub, Issue issue,
            std::vector<Request> requests)
      : run_(run), stub_(stub), issue_(issue), requests_(std::move(requests)) {}

  void Start() {
    run_.Started();
    Next();
  }

 private:
  void Next() {
    if (!run_.Take()) {
      run_.Finished(std::move(tally_));
      delete this;
      return;
    }
    context_ = std::make_unique<grpc::ClientContext>();
    run_.Prepare(context_.get());
    response_.Clear();
    const Request* request = &requests_[next_request_++ % requests_.size()];
    const Clock::time_point start = Clock::now();
    issue_(stub_, context_.get(), request, &response_,
           [this, start](const grpc::Status& status) {
             tally_.Record(status, start);
             if (status.ok() && Buffered(response_)) ++tally_.buffered;
             Next();
           });
  }

  Run& run_;
  v1::Scheduler::Stub* const stub_;
  const Issue issue_;
  const std::vector<Request> requests_;
  size_t next_request_ = 0;
  std::unique_ptr<grpc::ClientContext> context_;
  Response response_;
  Tally tally_;
};

// One SubmitTasks stream with up to `window` requests written and not yet
// answered. A read is always outstanding; answers come back in order, so the
// send times form a queue.
class StreamLoop final
    : public grpc::ClientBidiReactor<v1::SubmitTaskRequest,
                                     v1::SubmitTasksResponse> {
 public:
  StreamLoop(Run& run, v1::Scheduler::Stub* stub, v1::SubmitTaskRequest request,
             int window)
      : run_(run), request_(std::move(request)), window_(window) {
    run_.Prepare(&context_);
    stub->async()->SubmitTasks(&context_, this);
  }

  void Start() {
    run_.Started();
    StartRead(&response_);
    StartCall();
    WriteMore();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is ending; OnDone follows
    {
      absl::MutexLock lock(&mu_);
      const grpc::Status status =
          response_.code() == 0
              ? grpc::Status::OK
              : grpc::Status(static_cast<grpc::StatusCode>(response_.code()),
                             response_.message());
      tally_.Record(status, sent_.front());
      sent_.pop_front();
    }
    StartRead(&response_);
    WriteMore();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) stopped_ = true;
    }
    WriteMore();
  }

  void OnDone(const grpc::Status& status) override {
    Tally tally;
    {
      absl::MutexLock lock(&mu_);
      if (!status.ok()) tally_.Record(status, Clock::now());
      tally_.errors += static_cast<int64_t>(sent_.size());
      tally = std::move(tally_);
    }
    run_.Finished(std::move(tally));
    delete this;
  }

 private:
  // Writes the next request if the window allows, or half-closes once the
  // run is over and every answer is in.
  void WriteMore() {
    enum { kNothing, kWrite, kWritesDone } action = kNothing;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || writes_done_) return;
      if (!stopped_ && static_cast<int>(sent_.size()) < window_) {
        if (run_.Take()) {
          sent_.push_back(Clock::now());
          writing_ = true;
          action = kWrite;
        } else {
          stopped_ = true;
        }
      }
      if (stopped_ && sent_.empty()) {
        writes_done_ = true;
        action = kWritesDone;
      }
    }
    if (action == kWrite) StartWrite(&request_);
    if (action == kWritesDone) StartWritesDone();
  }

  Run& run_;
  grpc::ClientContext context_;
  const v1::SubmitTaskRequest request_;
  const int window_;
  v1::SubmitTasksResponse response_;
  absl::Mutex mu_;
  std::deque<Clock::time_point> sent_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  Tally tally_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::loadgen
