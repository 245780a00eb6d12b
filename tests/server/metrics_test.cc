// End-to-end: the daemon's /metrics endpoint (--metrics-listen): what it
// reports as tasks run, a port clash at start-up, and turning it off.

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/health_probe.h"
#include "tests/testing/http_get.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ServerProcess;

using MetricsTest = DaemonTest;

// The value of `series` (written as exposed, e.g.
// corosched_wakes_total{source="self"}) in a /metrics text, or -1.
double Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, series + " ")) continue;
    double value = -1;
    return absl::SimpleAtod(line, &value) ? value : -1;
  }
  return -1;
}

std::string Scrape(const ServerProcess& server) {
  absl::StatusOr<testing::HttpResponse> got =
      testing::HttpGet(server.metrics_address(), "/metrics");
  EXPECT_TRUE(got.ok()) << got.status();
  if (!got.ok()) return "";
  EXPECT_EQ(got->status, 200);
  return got->body;
}

v1::WakeTaskResponse::Disposition WakeGo(v1::Scheduler::Stub& stub,
                                         const std::string& id) {
  v1::WakeTaskRequest request;
  request.set_task_id(id);
  request.set_signal("go");
  v1::WakeTaskResponse response;
  grpc::Status status = stub.WakeTask(Deadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.disposition();
}

TEST_F(MetricsTest, ReportsWhatTasksDoAsTheyRun) {
  ASSERT_FALSE(server_->metrics_address().empty());
  EXPECT_THAT(server_->Stderr(), HasSubstr("event=metrics_listening address=" +
                                           server_->metrics_address()));
  // hello wakes itself twice; the napper is woken by its timer, then by a
  // signal; the sleeper gets a signal it keeps for its await.
  const std::string hello = Submit(*stub_, LoadExample("hello.json")).id();
  const std::string napper =
      Submit(*stub_, SleepThenAwaitGo(absl::Milliseconds(100))).id();
  const std::string sleeper =
      Submit(*stub_, SleepThenAwaitGo(absl::Hours(1))).id();
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, napper).status() == v1::TASK_STATUS_AWAITING;
  }));
  EXPECT_EQ(WakeGo(*stub_, napper), v1::WakeTaskResponse::CONSUMED);
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, sleeper).status() == v1::TASK_STATUS_SLEEPING;
  }));
  EXPECT_EQ(WakeGo(*stub_, sleeper), v1::WakeTaskResponse::BUFFERED);

  std::string text;
  ASSERT_TRUE(WaitFor([&] {
    text = Scrape(*server_);
    return Sample(text,
                  R"(corosched_tasks_finished_total{outcome="completed"})") ==
           2;
  })) << text;
  EXPECT_EQ(Sample(text, "corosched_tasks_submitted_total"), 3);
  EXPECT_EQ(Sample(text, R"(corosched_tasks_finished_total{outcome="failed"})"),
            0);
  EXPECT_GE(Sample(text, R"(corosched_wakes_total{source="self"})"), 2);
  EXPECT_GE(Sample(text, R"(corosched_wakes_total{source="timer"})"), 1);
  EXPECT_EQ(Sample(text, R"(corosched_wakes_total{source="signal"})"), 2);
  EXPECT_EQ(Sample(text, "corosched_buffered_wakes"), 1);
  EXPECT_EQ(Sample(text, R"(corosched_tasks{state="sleeping"})"), 1);
  EXPECT_EQ(Sample(text, R"(corosched_tasks{state="completed"})"), 2);
  EXPECT_EQ(Sample(text, R"(corosched_tasks{state="failed"})"), 0);
  EXPECT_EQ(Sample(text, "corosched_task_duration_seconds_count"), 2);
  EXPECT_EQ(Sample(text, "corosched_admission_in_use"), 1);
  EXPECT_GE(Sample(text, "corosched_run_queue_depth"), 0);
  EXPECT_GE(
      Sample(
          text,
          R"(corosched_grpc_request_duration_seconds_count{method="SubmitTask",code="OK"})"),
      3);
  EXPECT_GE(
      Sample(
          text,
          R"(corosched_grpc_request_duration_seconds_count{method="WakeTask",code="OK"})"),
      2);
  EXPECT_THAT(text, HasSubstr("corosched_build_info{version=\""));
  EXPECT_EQ(Sample(text, "corosched_store_commit_failures_total"), 0);
  EXPECT_THAT(text, Not(HasSubstr(hello)));  // never a task id
}

TEST(MetricsStartupTest, AMetricsPortInUseFailsStartupClearly) {
  auto first = ServerProcess::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = (*first)->metrics_address();
  auto second = ServerProcess::Launch({.metrics_listen = taken});
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<int> code = (*second)->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << (*second)->Stderr();
  EXPECT_EQ(*code, 1);
  const std::string stderr_text = (*second)->Stderr();
  EXPECT_THAT(stderr_text, HasSubstr("event=start_failed"));
  EXPECT_THAT(stderr_text, HasSubstr("cannot serve metrics on " + taken));
  EXPECT_THAT(stderr_text, HasSubstr("already in use"));
  EXPECT_THAT(stderr_text, HasSubstr("--metrics-listen="));
  // A message, not an exception trace or an abort.
  EXPECT_THAT(stderr_text, Not(HasSubstr("terminate called")));
  EXPECT_THAT(stderr_text, Not(HasSubstr("what()")));
  EXPECT_THAT(stderr_text, Not(HasSubstr("CivetException")));
  EXPECT_EQ(testing::CheckHealth((*first)->NewChannel()).value_or(-1),
            testing::kHealthServing);
  EXPECT_EQ((*first)->Stop().value_or(-1), 0);
}

TEST(MetricsStartupTest, AnEmptyMetricsListenTurnsMetricsOff) {
  auto server = ServerProcess::Start({.metrics_listen = ""});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_address(), "");
  EXPECT_THAT((*server)->Stderr(), HasSubstr("event=metrics_off"));
  EXPECT_THAT((*server)->Stderr(), Not(HasSubstr("event=metrics_listening")));
  EXPECT_EQ(testing::CheckHealth((*server)->NewChannel()).value_or(-1),
            testing::kHealthServing);
  EXPECT_EQ((*server)->Stop().value_or(-1), 0) << (*server)->Stderr();
}

}  // namespace
}  // namespace corosched::e2e
