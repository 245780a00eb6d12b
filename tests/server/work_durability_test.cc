// Work items across SIGKILL and restarts on one data directory: a lease
// survives with its token and deadlines, queued items are delivered again,
// and an acknowledged completion is applied, once.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/server/data_dir_fixture.h"
#include "tests/server/e2e_support.h"
#include "tests/server/work_support.h"

namespace corosched::e2e {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::IsEmpty;

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
}

using WorkDurabilityTest = DataDirDaemonTest;

// Transitions into `state` in the task's events.
int Entries(v1::Scheduler::Stub& stub, const std::string& id,
            const std::string& state) {
  WatchResult watched = Watch(stub, id);
  EXPECT_TRUE(watched.status.ok()) << watched.status.error_message();
  int entries = 0;
  for (const v1::TaskEvent& event : watched.events) {
    if (event.has_transition() && event.transition().state() == state) {
      ++entries;
    }
  }
  return entries;
}

TEST_F(WorkDurabilityTest, ALeaseSurvivesAKillAndItsTokenCompletesTheTask) {
  Open();
  const v1::Task task = SubmitJob(
      *stub_, WorkJob("jobs", R"("heartbeat": "60s", "timeout": "120s")"), "a");
  std::optional<v1::WorkItem> item =
      TakeItem(*stub_, "jobs", absl::Seconds(20), "survivor");
  ASSERT_TRUE(item.has_value());
  Crash();
  Open();
  // Still this worker's: not delivered again, the lease as it was.
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(PollWork(*stub_, "jobs", absl::Milliseconds(300), 1, &none).ok());
  EXPECT_THAT(none, IsEmpty());
  const v1::Task restored = GetTask(*stub_, task.id());
  EXPECT_EQ(restored.status(), v1::TASK_STATUS_WORKING)
      << restored.DebugString();
  EXPECT_EQ(restored.work().attempt(), 1u);
  EXPECT_EQ(restored.work().lease().worker_identity(), "survivor");
  EXPECT_GE(ToTime(restored.work().lease().heartbeat_deadline()),
            ToTime(item->heartbeat_deadline()));
  EXPECT_EQ(ToTime(restored.work().lease().timeout_deadline()),
            ToTime(item->timeout_deadline()));

  v1::HeartbeatWorkResponse beat;
  ASSERT_TRUE(HeartbeatWork(*stub_, item->token(), &beat).ok());
  EXPECT_FALSE(beat.cancel_requested());
  grpc::Status done =
      CompleteWork(*stub_, item->token(), JsonText("after the crash"));
  ASSERT_TRUE(done.ok()) << done.error_message();
  const v1::Task ended = AwaitEnd(task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "after the crash");
}

// A restored lease gets one heartbeat interval from the restart (its
// worker could not beat while the daemon was down)...
TEST_F(WorkDurabilityTest, AHeartbeatingWorkerKeepsItsLeaseAcrossARestart) {
  Open();
  const v1::Task task = SubmitJob(
      *stub_, WorkJob("jobs", R"("heartbeat": "3s", "timeout": "120s")"), "a");
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "jobs");
  ASSERT_TRUE(item.has_value());
  // Past the deadline the lease was recorded with.
  const absl::Time recorded = ToTime(item->heartbeat_deadline());
  while (absl::Now() < recorded + absl::Milliseconds(500)) {
    absl::SleepFor(absl::Milliseconds(500));
    ASSERT_TRUE(HeartbeatWork(*stub_, item->token()).ok());
  }
  Crash();
  Open();
  v1::HeartbeatWorkResponse beat;
  grpc::Status status = HeartbeatWork(*stub_, item->token(), &beat);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(ToTime(beat.heartbeat_deadline()), absl::Now());
  ASSERT_TRUE(CompleteWork(*stub_, item->token(), JsonText("kept")).ok());
  EXPECT_EQ(AwaitEnd(task.id()).result(), "kept");
}

// ...and one that hears nothing in that interval ends as a heartbeat
// timeout: the attempt is retried and the old token refused.
TEST_F(WorkDurabilityTest, ALeaseWithoutHeartbeatsAfterARestartIsRetried) {
  Open();
  const v1::Task task = SubmitJob(
      *stub_,
      WorkJob("jobs", R"("heartbeat": "1s", "timeout": "120s")",
              R"("retry": [{"errors": ["heartbeat_timeout"], "maxAttempts": 2,
                            "interval": "0s"}])"),
      "a");
  std::optional<v1::WorkItem> first = TakeItem(*stub_, "jobs");
  ASSERT_TRUE(first.has_value());
  Crash();
  Open();
  std::optional<v1::WorkItem> second = TakeItem(*stub_, "jobs");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->attempt(), 2u);
  EXPECT_GE(ToTime(second->started_at()), opened_at_);
  grpc::Status late = CompleteWork(*stub_, first->token(), JsonText("late"));
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << late.error_message();
  ASSERT_TRUE(CompleteWork(*stub_, second->token(), JsonText("retried")).ok());
  EXPECT_EQ(AwaitEnd(task.id()).result(), "retried");
}

TEST_F(WorkDurabilityTest, QueuedItemsAreDeliveredAfterAKill) {
  Open();
  const v1::TaskDefinition job = WorkJob("jobs", R"("timeout": "60s")");
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.insert(SubmitJob(*stub_, job, absl::StrCat(i)).id());
  }
  ASSERT_TRUE(
      WaitFor([&] { return WorkQueueStatsOf(*stub_, "jobs").depth() == 5; }));
  Crash();
  Open();
  std::map<std::string, int> delivered;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::optional<v1::WorkItem> item = TakeItem(*stub_, "jobs");
    ASSERT_TRUE(item.has_value()) << "only " << i << " items after restart";
    EXPECT_EQ(item->attempt(), 1u);
    ++delivered[item->task_id()];
    ASSERT_TRUE(
        CompleteWork(*stub_, item->token(), JsonText("done " + item->task_id()))
            .ok());
  }
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(PollWork(*stub_, "jobs", absl::Milliseconds(300), 1, &none).ok());
  EXPECT_THAT(none, IsEmpty());
  for (const std::string& id : ids) {
    EXPECT_EQ(delivered[id], 1) << id;
    const v1::Task ended = AwaitEnd(id);
    EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
    EXPECT_EQ(ended.result(), "done " + id);
  }
}

TEST_F(WorkDurabilityTest, AnAcknowledgedCompletionSurvivesAKillRightAfter) {
  Open();
  const v1::Task task =
      SubmitJob(*stub_, WorkJob("jobs", R"("timeout": "60s")"), "a");
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "jobs");
  ASSERT_TRUE(item.has_value());
  ASSERT_TRUE(CompleteWork(*stub_, item->token(), JsonText("kept")).ok());
  Crash();
  Open();
  const v1::Task ended = AwaitEnd(task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "kept");
  EXPECT_EQ(Entries(*stub_, task.id(), "DONE"), 1);
  // Neither delivered again nor answerable again.
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(PollWork(*stub_, "jobs", absl::Milliseconds(300), 1, &none).ok());
  EXPECT_THAT(none, IsEmpty());
  grpc::Status again = CompleteWork(*stub_, item->token(), JsonText("again"));
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << again.error_message();
  EXPECT_EQ(GetTask(*stub_, task.id()).result(), "kept");
}

}  // namespace
}  // namespace corosched::e2e
