// End-to-end: the daemon's process life: startup, health, signals and
// draining, a clash over its address, bad flags, keepalive abuse.

#include <signal.h>

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/health_probe.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;
using testing::ServerProcess;

std::unique_ptr<ServerProcess> StartDaemon(std::vector<std::string> args = {}) {
  auto server = ServerProcess::Start({.args = std::move(args)});
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(LifecycleTest, HealthIsServingOnceReadyAndUnreachableAfterExit) {
  auto server = ServerProcess::Launch();
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->WaitUntilReady(absl::Seconds(30)).ok())
      << (*server)->Stderr();
  auto channel = (*server)->NewChannel();
  EXPECT_EQ(testing::CheckHealth(channel).value_or(-1),
            testing::kHealthServing);
  EXPECT_EQ(
      testing::CheckHealth(channel, absl::Seconds(5), "corosched.v1.Scheduler")
          .value_or(-1),
      testing::kHealthServing);
  EXPECT_THAT((*server)->Stderr(), HasSubstr("event=ready address="));
  absl::StatusOr<int> code = (*server)->Stop();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << (*server)->Stderr();
  EXPECT_FALSE(testing::CheckHealth(channel, absl::Seconds(1)).ok());
}

TEST(LifecycleTest, GracefulDrainLetsTasksInFlightFinish) {
  auto server = StartDaemon({"--drain-timeout", "30s"});
  ASSERT_NE(server, nullptr);
  auto channel = server->NewChannel();
  auto stub = v1::Scheduler::NewStub(channel);
  std::vector<std::string> waiting;
  waiting.reserve(3);
  for (int i = 0; i < 3; ++i) waiting.push_back(Submit(*stub, AwaitGo()).id());
  std::string sleeper = Submit(*stub, SleepThenAwaitGo(absl::Seconds(1))).id();
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub, waiting[2]).status() == v1::TASK_STATUS_AWAITING;
  }));
  // A watcher follows one of them through the drain.
  WatchResult watched;
  std::thread watcher(
      [&] { watched = Watch(*stub, waiting[0], 0, absl::Seconds(30)); });

  const absl::Time signalled = absl::Now();
  server->Signal(SIGTERM);
  EXPECT_TRUE(WaitFor([&] {
    return testing::CheckHealth(channel).value_or(-1) ==
           testing::kHealthNotServing;
  }));
  EXPECT_EQ(
      testing::CheckHealth(channel, absl::Seconds(5), "corosched.v1.Scheduler")
          .value_or(-1),
      testing::kHealthNotServing);
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = LoadExample("hello.json");
  v1::SubmitTaskResponse response;
  grpc::Status refused = stub->SubmitTask(Deadline().get(), request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(refused.error_message(), HasSubstr("draining"));
  EXPECT_TRUE(server->running());

  // Wakes still work while draining; the tasks finish and the daemon exits.
  for (const std::string& id : waiting) {
    v1::WakeTaskRequest wake;
    wake.set_task_id(id);
    wake.set_signal("go");
    v1::WakeTaskResponse receipt;
    EXPECT_TRUE(stub->WakeTask(Deadline().get(), wake, &receipt).ok());
  }
  v1::WakeTaskRequest wake;
  wake.set_task_id(sleeper);
  wake.set_signal("go");
  v1::WakeTaskResponse receipt;
  EXPECT_TRUE(stub->WakeTask(Deadline().get(), wake, &receipt).ok());

  absl::StatusOr<int> code = server->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << server->Stderr();
  EXPECT_EQ(*code, 0) << server->Stderr();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(20));  // not the timeout
  watcher.join();
  EXPECT_TRUE(watched.status.ok()) << watched.status.error_message();
  ASSERT_FALSE(watched.events.empty());
  EXPECT_EQ(watched.events.back().finished().result(), "went");
  const std::string log = server->Stderr();
  EXPECT_THAT(log, HasSubstr("event=drain_begin unfinished_tasks=4"));
  EXPECT_THAT(log, HasSubstr("event=drain_end"));
  EXPECT_THAT(log, HasSubstr("unfinished_tasks=0"));
}

TEST(LifecycleTest, DrainTimeoutBoundsTheExitAndClosesWatchesResumably) {
  auto server = StartDaemon({"--drain-timeout", "2s"});
  ASSERT_NE(server, nullptr);
  auto stub = v1::Scheduler::NewStub(server->NewChannel());
  std::string id = Submit(*stub, AwaitGo()).id();
  WatchResult watched;
  std::thread watcher(
      [&] { watched = Watch(*stub, id, 0, absl::Seconds(30)); });
  ASSERT_TRUE(WaitFor(
      [&] { return GetTask(*stub, id).status() == v1::TASK_STATUS_AWAITING; }));
  const absl::Time signalled = absl::Now();
  server->Signal(SIGINT);
  absl::StatusOr<int> code = server->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << server->Stderr();
  // Within the drain timeout, plus the process's own exit.
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(2) + absl::Seconds(1));
  watcher.join();
  EXPECT_EQ(watched.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(watched.status.error_message(), HasSubstr("after_sequence="));
  EXPECT_EQ(OutputText(watched.events), "waiting\n");
}

TEST(LifecycleTest, SecondDaemonOnTheSameAddressFailsClearly) {
  auto first = StartDaemon();
  ASSERT_NE(first, nullptr);
  auto second = ServerProcess::Launch({.listen = first->address()});
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<int> code = (*second)->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << (*second)->Stderr();
  EXPECT_EQ(*code, 1);
  EXPECT_THAT((*second)->Stderr(), HasSubstr("already in use"));
  EXPECT_THAT((*second)->Stderr(), HasSubstr(first->address()));
  EXPECT_EQ(testing::CheckHealth(first->NewChannel()).value_or(-1),
            testing::kHealthServing);
  EXPECT_EQ(first->Stop().value_or(-1), 0);
}

TEST(LifecycleTest, BadFlagExitsWithUsageError) {
  auto server = ServerProcess::Launch({.args = {"--workers", "many"}});
  ASSERT_TRUE(server.ok());
  absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT((*server)->Stderr(),
              HasSubstr("--workers=many: expected a whole number"));
}

TEST(LifecycleTest, EnvironmentConfiguresAndFlagsWin) {
  auto server = ServerProcess::Start(
      {.args = {"--max-tasks", "7"},
       .env = {{"COROSCHED_MAX_TASKS", "3"}, {"COROSCHED_WORKERS", "1"}}});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Scheduler::NewStub((*server)->NewChannel());
  v1::QueueStats stats;
  ASSERT_TRUE(stub->GetQueueStats(Deadline().get(), {}, &stats).ok());
  EXPECT_EQ(stats.admission_capacity(), 7u);
  EXPECT_EQ(stats.workers(), 1u);
  stub.reset();  // an idle open connection would delay the daemon's exit
  EXPECT_EQ((*server)->Stop().value_or(-1), 0) << (*server)->Stderr();
}

TEST(LifecycleTest, KeepalivePingFloodIsRefused) {
  auto server = StartDaemon({"--drain-timeout", "1s"});
  ASSERT_NE(server, nullptr);
  auto stub = v1::Scheduler::NewStub(server->NewChannel());
  std::string id = Submit(*stub, AwaitGo()).id();

  // A client that pings every 50 ms on an idle stream: after two strikes
  // the daemon sends GOAWAY (too_many_pings) and its stream ends.
  grpc::ChannelArguments abusive;
  abusive.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 50);
  abusive.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  abusive.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  abusive.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  auto abuser = v1::Scheduler::NewStub(grpc::CreateCustomChannel(
      server->address(), grpc::InsecureChannelCredentials(), abusive));
  WatchResult watched = Watch(*abuser, id, 0, absl::Seconds(20));
  EXPECT_EQ(watched.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << watched.status.error_message();

  EXPECT_EQ(testing::CheckHealth(server->NewChannel()).value_or(-1),
            testing::kHealthServing);
  EXPECT_EQ(server->Stop().value_or(-1), 0) << server->Stderr();
}

}  // namespace
}  // namespace corosched::e2e
