// End-to-end: two daemons on one PostgreSQL (docs/scale-out.md). Any daemon
// answers any call about any task, and a drained daemon's tasks finish on
// the other. Runs under tests/testing/with_test_postgres.sh, which starts a
// private PostgreSQL and names it in COROSCHED_TEST_POSTGRES_URL.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/server/two_daemons_fixture.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

class ClusterTest : public TwoDaemonsTest {
 protected:
  absl::StatusOr<v1::WakeTaskResponse> Wake(v1::Scheduler::Stub& stub,
                                            const std::string& id,
                                            const std::string& request_id) {
    v1::WakeTaskRequest request;
    request.set_task_id(id);
    request.set_signal("go");
    request.set_request_id(request_id);
    v1::WakeTaskResponse response;
    grpc::Status status = stub.WakeTask(Deadline().get(), request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return response;
  }
};

TEST_F(ClusterTest, AWakeOnOneDaemonRunsTheTaskTheOtherOwns) {
  const std::string id = Submit(*stub_a_, AwaitGo()).id();
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_b_, id).status() == v1::TASK_STATUS_AWAITING;
  }));
  // A watch on the daemon that does not run the task follows it anyway.
  WatchResult watched;
  std::thread watcher([&] { watched = Watch(*stub_b_, id); });

  absl::StatusOr<v1::WakeTaskResponse> woken = Wake(*stub_b_, id, "w1");
  ASSERT_TRUE(woken.ok()) << woken.status();
  // The owner's receipt if it stored the wake within a second, else queued.
  EXPECT_TRUE(woken->disposition() == v1::WakeTaskResponse::CONSUMED ||
              (woken->disposition() == v1::WakeTaskResponse::BUFFERED &&
               woken->sequence() == 0))
      << woken->DebugString();
  EXPECT_FALSE(woken->duplicate());
  EXPECT_TRUE(WaitFor([&] {
    return GetTask(*stub_a_, id).status() == v1::TASK_STATUS_COMPLETED;
  })) << a_->Stderr();
  watcher.join();
  EXPECT_TRUE(watched.status.ok()) << watched.status.error_message();
  ASSERT_FALSE(watched.events.empty());
  EXPECT_TRUE(watched.events.back().has_finished());
  EXPECT_EQ(watched.events.back().finished().result(), "went");
  EXPECT_EQ(OutputText(watched.events), "waiting\n");

  // The repeat is a duplicate, with the owner's own receipt.
  absl::StatusOr<v1::WakeTaskResponse> repeat = Wake(*stub_b_, id, "w1");
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->duplicate());
  EXPECT_EQ(repeat->disposition(), v1::WakeTaskResponse::CONSUMED);
}

TEST_F(ClusterTest, ACancelOnOneDaemonEndsTheTaskTheOtherRuns) {
  const std::string id = Submit(*stub_a_, AwaitGo()).id();
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_a_, id).status() == v1::TASK_STATUS_AWAITING;
  }));
  v1::CancelTaskRequest request;
  request.set_task_id(id);
  request.set_reason("from b");
  v1::Task cancelled;
  grpc::Status status = stub_b_->CancelTask(Deadline(absl::Seconds(20)).get(),
                                            request, &cancelled);
  ASSERT_TRUE(status.ok()) << status.error_message() << b_->Stderr();
  EXPECT_EQ(cancelled.status(), v1::TASK_STATUS_CANCELLED);
  EXPECT_EQ(cancelled.error(), "from b");
  EXPECT_EQ(GetTask(*stub_a_, id).status(), v1::TASK_STATUS_CANCELLED);
  // A wake of the ended task is refused on either daemon.
  EXPECT_EQ(Wake(*stub_b_, id, "").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ClusterTest, ADrainedDaemonsTasksFinishOnTheOther) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Submit(*stub_a_, AwaitGo()).id());
  ASSERT_TRUE(WaitFor([&] {
    for (const std::string& id : ids) {
      if (GetTask(*stub_a_, id).status() != v1::TASK_STATUS_AWAITING) {
        return false;
      }
    }
    return true;
  }));
  absl::StatusOr<int> code = a_->Stop();
  ASSERT_TRUE(code.ok() && *code == 0) << a_->Stderr();
  for (const std::string& id : ids) {
    // Queued for whoever claims it, or taken by the daemon that did.
    ASSERT_TRUE(Wake(*stub_b_, id, "after-drain").ok()) << id;
  }
  for (const std::string& id : ids) {
    EXPECT_TRUE(WaitFor([&] {
      return GetTask(*stub_b_, id).status() == v1::TASK_STATUS_COMPLETED;
    })) << id
        << "\n"
        << b_->Stderr();
  }
}

}  // namespace
}  // namespace corosched::e2e
