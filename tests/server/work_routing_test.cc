// End-to-end: work items polled from any daemon (docs/scale-out.md,
// "Workers on any daemon"). Two daemons on one PostgreSQL; tasks submitted
// on one, a worker that polls only the other. Runs under
// tests/testing/with_test_postgres.sh, which starts a private PostgreSQL and
// names it in COROSCHED_TEST_POSTGRES_URL.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/server/two_daemons_fixture.h"
#include "tests/server/work_support.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

class WorkRoutingTest : public TwoDaemonsTest {
 protected:
  WorkRoutingTest() : TwoDaemonsTest({"--log-level", "debug"}) {}

  // Submits a job on A and waits until A runs it in its `work` state, with
  // its item queued there.
  std::string SubmitOnA(const std::string& queue, const std::string& job) {
    std::string id =
        SubmitJob(*stub_a_, WorkJob(queue, R"("timeout": "60s")"), job).id();
    EXPECT_TRUE(WaitFor([&] {
      return GetTask(*stub_a_, id).status() == v1::TASK_STATUS_WORKING;
    })) << a_->Stderr();
    return id;
  }
};

TEST_F(WorkRoutingTest, AWorkerPollingTheOtherDaemonGetsTheItemAndFinishesIt) {
  const std::string id = SubmitOnA("routed", "first");
  std::optional<v1::WorkItem> item =
      TakeItem(*stub_b_, "routed", absl::Seconds(20));
  ASSERT_TRUE(item.has_value()) << a_->Stderr() << b_->Stderr();
  EXPECT_EQ(item->task_id(), id);
  EXPECT_EQ(item->attempt(), 1u);
  EXPECT_EQ(item->input().struct_value().fields().at("job").string_value(),
            "first");
  // B runs the task now and holds the lease: the worker answers there.
  grpc::Status beat = HeartbeatWork(*stub_b_, item->token());
  EXPECT_TRUE(beat.ok()) << beat.error_message();
  grpc::Status completed =
      CompleteWork(*stub_b_, item->token(), JsonText("done on b"));
  ASSERT_TRUE(completed.ok()) << completed.error_message();
  v1::Task finished = AwaitFinished(*stub_a_, id);
  EXPECT_EQ(finished.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(finished.result(), "done on b");
}

TEST_F(WorkRoutingTest, ATokenCallOnTheDaemonThatGaveTheTaskUpIsUnavailable) {
  const std::string id = SubmitOnA("moved", "second");
  std::optional<v1::WorkItem> item =
      TakeItem(*stub_b_, "moved", absl::Seconds(20));
  ASSERT_TRUE(item.has_value()) << a_->Stderr() << b_->Stderr();
  // A no longer runs the task, which is unfinished: retry elsewhere.
  grpc::Status on_a = CompleteWork(*stub_a_, item->token(), JsonText("x"));
  EXPECT_EQ(on_a.error_code(), grpc::StatusCode::UNAVAILABLE)
      << on_a.error_message();
  EXPECT_NE(on_a.error_message().find("held by another daemon"),
            std::string::npos)
      << on_a.error_message();
  EXPECT_EQ(HeartbeatWork(*stub_a_, item->token()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(CompleteWork(*stub_b_, item->token(), JsonText("y")).ok());
  EXPECT_EQ(AwaitFinished(*stub_b_, id).result(), "y");
  // Once the task ended, its token is refused as on a single daemon.
  EXPECT_EQ(CompleteWork(*stub_a_, item->token(), JsonText("z")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(WorkRoutingTest, EveryItemOfABatchReachesTheOnlyWorker) {
  std::vector<std::string> ids;
  ids.reserve(5);
  for (int i = 0; i < 5; ++i) {
    ids.push_back(SubmitOnA("batch", "job-" + std::to_string(i)));
  }
  for (int taken = 0; taken < 5; ++taken) {
    std::optional<v1::WorkItem> item =
        TakeItem(*stub_b_, "batch", absl::Seconds(20));
    ASSERT_TRUE(item.has_value()) << "item " << taken << a_->Stderr();
    ASSERT_TRUE(
        CompleteWork(*stub_b_, item->token(), JsonText(item->task_id())).ok());
  }
  for (const std::string& id : ids) {
    v1::Task finished = AwaitFinished(*stub_a_, id);
    EXPECT_EQ(finished.status(), v1::TASK_STATUS_COMPLETED) << id;
    EXPECT_EQ(finished.result(), id);
  }
}

}  // namespace
}  // namespace corosched::e2e
