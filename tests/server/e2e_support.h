#pragma once

// Helpers for the daemon's end-to-end tests: example definitions, a stub on
// a started daemon, watching a task to its end, and bounded polling.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {

// examples/<file> from the source tree, parsed from JSON.
v1::TaskDefinition LoadExample(const std::string& file);

// examples/approval.json with its two await timeouts (1 h and 23 h) cut to
// `request_timeout` and `escalate_timeout`, so a test can let it expire.
v1::TaskDefinition ShortApproval(absl::Duration request_timeout,
                                 absl::Duration escalate_timeout);

// A definition that emits "waiting\n" and awaits signal `go` with no
// timeout, then completes with result "went".
v1::TaskDefinition AwaitGo();

// Sleeps `duration`, then awaits `go` (no timeout) and completes.
v1::TaskDefinition SleepThenAwaitGo(absl::Duration duration);

// A string input value.
v1::Value Text(const std::string& text);

// A ClientContext whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> Deadline(
    absl::Duration timeout = absl::Seconds(10));

struct WatchResult {
  std::vector<v1::TaskEvent> events;
  grpc::Status status;
};

// WatchTask from `after_sequence` until the stream ends (or `timeout`).
WatchResult Watch(v1::Scheduler::Stub& stub, const std::string& task_id,
                  uint64_t after_sequence = 0,
                  absl::Duration timeout = absl::Seconds(20));

// The concatenated text of the output events.
std::string OutputText(const std::vector<v1::TaskEvent>& events);

// Polls `condition` every 10 ms until it holds (true) or `timeout` (false).
bool WaitFor(const std::function<bool()>& condition,
             absl::Duration timeout = absl::Seconds(20));

// GetTask; a default Task (no id) when the call fails.
v1::Task GetTask(v1::Scheduler::Stub& stub, const std::string& task_id);

// Submits `definition` inline with `inputs`; fails the test on error.
v1::Task Submit(v1::Scheduler::Stub& stub, const v1::TaskDefinition& definition,
                const std::map<std::string, std::string>& inputs = {},
                const std::map<std::string, std::string>& labels = {});

// A test fixture that starts a daemon per test (with --drain-timeout 1s and
// then the flags from DaemonArgs()) and stops it afterwards with SIGTERM,
// expecting exit code 0.
class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  virtual std::vector<std::string> DaemonArgs() const { return {}; }

  std::unique_ptr<testing::ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

}  // namespace corosched::e2e
