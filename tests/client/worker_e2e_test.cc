// corosched::Worker against the real daemon: tasks of the examples put items
// on work queues, a Worker in this process runs them, and the tasks end as
// the handler's answers say.

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/client.h"
#include "client/definition_json.h"
#include "client/worker.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

#ifndef COROSCHED_EXAMPLES_DIR
#error \
    "COROSCHED_EXAMPLES_DIR must name examples/ (tests/client/CMakeLists.txt)"
#endif

namespace corosched {
namespace {

using testing::ServerProcess;
using Transport = WorkerOptions::Transport;

constexpr absl::Duration kTaskWait = absl::Seconds(30);

// Polls `done` every 10 ms for at most kTaskWait (end-to-end tests may
// wait on a real process).
template <typename Done>
bool WaitFor(Done done) {
  const absl::Time end = absl::Now() + kTaskWait;
  while (!done()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

google::protobuf::Value Text(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  return value;
}

class WorkerE2eTest : public ::testing::TestWithParam<Transport> {
 protected:
  // A daemon of its own per test (started on the main thread, as
  // ServerProcess requires), so an item a failed test left queued cannot
  // reach the next test's worker.
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ServerProcess>> daemon =
        ServerProcess::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    client_ = std::make_unique<Client>(daemon_->NewChannel(), ClientOptions{});
  }

  void TearDown() override {
    if (daemon_ == nullptr) return;
    absl::StatusOr<int> code = daemon_->Stop();
    EXPECT_EQ(code.value_or(-1), 0) << daemon_->Stderr();
  }

  std::unique_ptr<Worker> NewWorker() {
    WorkerOptions options;
    options.transport = GetParam();
    options.identity = "worker-e2e";
    options.poll_wait = absl::Seconds(2);
    // Problems the worker dealt with itself, for a failing test's log.
    options.on_error = [](const absl::Status& status) {
      std::cerr << "worker: " << status << "\n";
    };
    return std::make_unique<Worker>(daemon_->NewChannel(), options);
  }

  // Submits examples/`example` with string `inputs`; the task's id.
  std::string Submit(
      const std::string& example,
      const std::vector<std::pair<std::string, std::string>>& inputs) {
    absl::StatusOr<v1::TaskDefinition> definition = LoadTaskDefinitionFile(
        absl::StrCat(COROSCHED_EXAMPLES_DIR, "/", example));
    EXPECT_TRUE(definition.ok()) << definition.status();
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = *definition;
    for (const auto& [name, value] : inputs) {
      (*request.mutable_inputs())[name].set_string(value);
    }
    absl::StatusOr<v1::SubmitTaskResponse> submitted =
        client_->SubmitTask(request);
    EXPECT_TRUE(submitted.ok()) << submitted.status();
    return submitted.ok() ? submitted->task().id() : "";
  }

  // Submits a one-work-state task on queue `long` with a 1s heartbeat and
  // no timeout: only heartbeats keep its lease.
  std::string SubmitHeartbeatJob() {
    absl::StatusOr<v1::TaskDefinition> definition = ParseTaskDefinitionJson(R"({
      "name": "heartbeat-job", "initial": "RUN",
      "states": {
        "RUN": {"work": {"queue": "long", "heartbeat": "1s",
                         "resultVariable": "r", "next": "DONE"}},
        "DONE": {"complete": {"result": "${r}"}}}})");
    EXPECT_TRUE(definition.ok()) << definition.status();
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = *definition;
    absl::StatusOr<v1::SubmitTaskResponse> submitted =
        client_->SubmitTask(request);
    EXPECT_TRUE(submitted.ok()) << submitted.status();
    return submitted.ok() ? submitted->task().id() : "";
  }

  TaskOutcome WaitForTask(const std::string& task_id) {
    absl::StatusOr<TaskOutcome> outcome =
        client_->WaitForTask(task_id, CallOptions{.timeout = kTaskWait});
    EXPECT_TRUE(outcome.ok()) << outcome.status() << "\ndaemon's stderr:\n"
                              << daemon_->Stderr();
    return outcome.ok() ? *std::move(outcome) : TaskOutcome{};
  }

  std::unique_ptr<ServerProcess> daemon_;
  std::unique_ptr<Client> client_;
};

INSTANTIATE_TEST_SUITE_P(Transports, WorkerE2eTest,
                         ::testing::Values(Transport::kStream,
                                           Transport::kPoll),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::kStream ? "Stream"
                                                                   : "Poll";
                         });

TEST_P(WorkerE2eTest, TasksCompleteWithTheHandlersResult) {
  absl::Mutex mu;
  std::vector<std::string> seen;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(
      worker
          ->Handle(
              "jobs", 2,
              [&](WorkContext& work)
                  -> absl::StatusOr<google::protobuf::Value> {
                const auto& input = work.input().struct_value().fields();
                const std::string job = input.at("job").string_value();
                {
                  absl::MutexLock lock(&mu);
                  seen.push_back(absl::StrCat(
                      job, " attempt ", work.attempt(), " priority ",
                      input.at("priority").number_value(), " queue ",
                      work.queue()));
                }
                google::protobuf::Value result;
                (*result.mutable_struct_value()->mutable_fields())["output"] =
                    Text("rows for " + job);
                return result;
              })
          .ok());
  ASSERT_TRUE(worker->Start().ok());

  std::vector<std::string> ids;
  for (const char* job : {"j1", "j2", "j3"}) {
    ids.push_back(Submit("worker-callback.json", {{"job", job}}));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    TaskOutcome outcome = WaitForTask(ids[i]);
    EXPECT_EQ(outcome.task.status(), v1::TASK_STATUS_COMPLETED)
        << outcome.task.error();
    EXPECT_EQ(outcome.task.result(), absl::StrCat("rows for j", i + 1));
    EXPECT_TRUE(absl::StrContains(outcome.output,
                                  absl::StrCat("job j", i + 1, " done")))
        << outcome.output;
  }
  worker->Stop();
  EXPECT_EQ(worker->counters().completed, 3u);
  EXPECT_EQ(worker->counters().lease_lost, 0u);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), 3u);
  for (const std::string& line : seen) {
    EXPECT_TRUE(absl::StrContains(line, "attempt 1 priority 0 queue jobs"))
        << line;
  }
}

TEST_P(WorkerE2eTest, ANonRetryableFailureFailsTheTask) {
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(
      worker
          ->Handle(
              "jobs", 1,
              [](WorkContext& work) -> absl::StatusOr<google::protobuf::Value> {
                return WorkError(
                    "BadJob",
                    absl::StrCat("task ", work.task_id(), " cannot run"),
                    /*retryable=*/false);
              })
          .ok());
  ASSERT_TRUE(worker->Start().ok());
  const std::string id = Submit("worker-callback.json", {{"job", "bad"}});
  TaskOutcome outcome = WaitForTask(id);
  worker->Stop();
  EXPECT_EQ(outcome.task.status(), v1::TASK_STATUS_FAILED);
  EXPECT_TRUE(absl::StrContains(outcome.task.error(), "BadJob"))
      << outcome.task.error();
  EXPECT_EQ(worker->counters().failed, 1u);
}

TEST_P(WorkerE2eTest, ARetryableFailureIsRetriedAndTheLastIsCaught) {
  std::atomic<int> attempts{0};
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("fetch", 1,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             ++attempts;
                             // "unavailable": retry-catch.json retries it.
                             if (work.attempt() == 1) {
                               return absl::UnavailableError("flaky network");
                             }
                             return WorkError("NotFound", "no such page",
                                              /*retryable=*/false);
                           })
                  .ok());
  ASSERT_TRUE(worker->Start().ok());
  const std::string id =
      Submit("retry-catch.json", {{"url", "https://example.test/a"}});
  TaskOutcome outcome = WaitForTask(id);
  worker->Stop();
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_EQ(outcome.task.status(), v1::TASK_STATUS_COMPLETED)
      << outcome.task.error();
  EXPECT_EQ(outcome.task.result(), "cached https://example.test/a");
  EXPECT_TRUE(absl::StrContains(outcome.output,
                                "fetch failed (NotFound: no such page)"))
      << outcome.output;
  EXPECT_EQ(worker->counters().failed, 2u);
}

TEST_P(WorkerE2eTest, HeartbeatsKeepALongItemsLease) {
  absl::Mutex mu;
  absl::Time first_deadline;
  absl::Time last_deadline;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("long", 1,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             {
                               absl::MutexLock lock(&mu);
                               first_deadline = work.heartbeat_deadline();
                             }
                             // Work three heartbeat intervals long; only
                             // heartbeats keep the lease that long.
                             if (work.WaitForCancel(absl::Seconds(3))) {
                               return WorkError("cancelled", "lease lost");
                             }
                             absl::MutexLock lock(&mu);
                             last_deadline = work.heartbeat_deadline();
                             return Text("outlived its heartbeat interval");
                           })
                  .ok());
  ASSERT_TRUE(worker->Start().ok());
  TaskOutcome outcome = WaitForTask(SubmitHeartbeatJob());
  worker->Stop();
  EXPECT_EQ(outcome.task.status(), v1::TASK_STATUS_COMPLETED)
      << outcome.task.error();
  EXPECT_EQ(outcome.task.result(), "outlived its heartbeat interval");
  absl::MutexLock lock(&mu);
  EXPECT_GT(last_deadline, first_deadline + absl::Seconds(1));
}

TEST_P(WorkerE2eTest, ACancelledTaskCancelsItsHandler) {
  absl::Notification started;
  std::string task_id;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("long", 1,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             started.Notify();
                             if (!work.WaitForCancel(kTaskWait)) {
                               return Text("never cancelled");
                             }
                             return WorkError("cancelled", "stopped as asked");
                           })
                  .ok());
  ASSERT_TRUE(worker->Start().ok());
  task_id = SubmitHeartbeatJob();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kTaskWait));
  absl::StatusOr<v1::Task> cancelled = client_->CancelTask(task_id, "test");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  // The next heartbeat (a third of a second later) tells the handler, which
  // fails the item; the daemon takes that failure.
  ASSERT_TRUE(WaitFor([&] { return worker->counters().failed == 1; }));
  worker->Stop();
  EXPECT_EQ(WaitForTask(task_id).task.status(), v1::TASK_STATUS_CANCELLED);
  EXPECT_EQ(worker->counters().lease_lost, 0u);
}

}  // namespace
}  // namespace corosched
