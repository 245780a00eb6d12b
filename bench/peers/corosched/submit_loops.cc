#include "bench/peers/corosched/submit_loops.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/definition_json.h"
#include "grpcpp/grpcpp.h"

namespace corosched::peers {
namespace {

// One `work` state; `ts` defaults to 0 so the bulk path sends no input, as
// the peers' bulk jobs carry an empty payload.
constexpr char kDefinitionJson[] = R"({
  "name": "peer-bench", "version": "1",
  "description": "One no-op job on work queue bench (bench/peers).",
  "inputs": [{"name": "ts", "type": "INPUT_TYPE_NUMBER", "default": 0}],
  "initial": "WORK",
  "states": {
    "WORK": {"work": {"queue": "bench", "input": {"ts": "${ts}"},
                      "timeout": "60s", "next": "DONE"}},
    "DONE": {"complete": {}}}})";

v1::SubmitTaskRequest JobRequest() {
  v1::SubmitTaskRequest request;
  request.mutable_definition_ref()->set_name(kDefinitionName);
  return request;
}

// Counts the open loop's calls still unanswered and the failures.
class Outstanding {
 public:
  void Add() {
    absl::MutexLock lock(&mu_);
    ++pending_;
  }
  void Done(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    --pending_;
    if (status.ok()) return;
    if (failed_ == 0) {
      first_error_ =
          absl::StrCat(status.error_code(), ": ", status.error_message());
    }
    ++failed_;
  }
  absl::Status WaitAll() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int64_t* pending) { return *pending == 0; }, &pending_));
    if (failed_ == 0) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        failed_, " SubmitTask calls failed; the first: ", first_error_));
  }

 private:
  absl::Mutex mu_;
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
};

// One call of the open loop, alive until its answer.
struct OpenLoopCall {
  grpc::ClientContext context;
  v1::SubmitTaskRequest request;
  v1::SubmitTaskResponse response;
};

}  // namespace

absl::StatusOr<v1::TaskDefinition> BenchDefinition() {
  return ParseTaskDefinitionJson(kDefinitionJson);
}

absl::Status SubmitBulk(Client& client, int64_t count, int64_t batch) {
  const v1::SubmitTaskRequest job = JobRequest();
  for (int64_t sent = 0; sent < count;) {
    const int64_t n = std::min(batch, count - sent);
    const std::vector<v1::SubmitTaskRequest> requests(n, job);
    auto answers = client.SubmitTasks(requests);
    if (!answers.ok()) {
      return absl::Status(
          answers.status().code(),
          absl::StrCat("SubmitTasks stream: ", answers.status().message()));
    }
    for (size_t i = 0; i < answers->size(); ++i) {
      if (!(*answers)[i].ok()) {
        return absl::Status((*answers)[i].status().code(),
                            absl::StrCat("job ", sent + i, ": ",
                                         (*answers)[i].status().message()));
      }
    }
    sent += n;
  }
  return absl::OkStatus();
}

absl::Status SubmitOpenLoop(v1::Scheduler::Stub& stub, int64_t count,
                            double rate, int64_t start_us) {
  Outstanding outstanding;
  const double gap_us = 1e6 / rate;
  for (int64_t i = 0; i < count; ++i) {
    const auto due_us =
        start_us + static_cast<int64_t>(static_cast<double>(i) * gap_us);
    // Pacing the offered load is this loop's job: sleep until job i is due.
    if (const int64_t wait = due_us - MonotonicMicros(); wait > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(wait));
    }
    auto* call = new OpenLoopCall;
    call->request = JobRequest();
    v1::Value ts;
    ts.set_number(static_cast<double>(due_us));
    (*call->request.mutable_inputs())["ts"] = ts;
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(30));
    outstanding.Add();
    stub.async()->SubmitTask(&call->context, &call->request, &call->response,
                             [call, &outstanding](const grpc::Status& status) {
                               delete call;
                               outstanding.Done(status);
                             });
  }
  return outstanding.WaitAll();
}

}  // namespace corosched::peers
