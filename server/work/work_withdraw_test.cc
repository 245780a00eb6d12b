// WorkQueues::QueuedTasks and Withdraw: taking a waiting item back out
// before any worker leases it, for a task handed to another daemon.

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues.h"
#include "server/work/work_queues_fixture.h"

namespace corosched::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_F(WorkQueuesTest, QueuedTasksListsWaitingItemsOldestFirstUpToMax) {
  ASSERT_TRUE(queues_.Enqueue(Spec("t1")).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("t2")).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("t3")).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("other", "mail")).ok());
  EXPECT_THAT(queues_.QueuedTasks("jobs", 2), ElementsAre("t1", "t2"));
  EXPECT_THAT(queues_.QueuedTasks("mail", 10), ElementsAre("other"));
  EXPECT_THAT(queues_.QueuedTasks("none", 10), IsEmpty());
}

TEST_F(WorkQueuesTest, QueuedTasksLeavesOutLeasedItems) {
  EnqueueAndLease(Spec("leased"));
  ASSERT_TRUE(queues_.Enqueue(Spec("waiting")).ok());
  EXPECT_THAT(queues_.QueuedTasks("jobs", 10), ElementsAre("waiting"));
}

TEST_F(WorkQueuesTest, WithdrawTakesAWaitingItemOutWithoutAnOutcome) {
  ASSERT_TRUE(queues_.Enqueue(Spec("t1")).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("t2")).ok());
  std::optional<WorkSpec> withdrawn = queues_.Withdraw("t1");
  ASSERT_TRUE(withdrawn.has_value());
  EXPECT_EQ(withdrawn->task_id, "t1");
  EXPECT_EQ(withdrawn->input.string_value(), "input of t1");
  EXPECT_THAT(outcomes(), IsEmpty());
  // No worker can take it any more; the next item is still there.
  std::vector<WorkLease> leases = PollNow("jobs", 10);
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].record.task_id, "t2");
  // The task may put an attempt here again (it came back).
  EXPECT_TRUE(queues_.Enqueue(Spec("t1", "jobs", 2)).ok());
}

TEST_F(WorkQueuesTest, WithdrawLeavesALeasedItemToItsWorker) {
  WorkLease lease = EnqueueAndLease(Spec("t1"));
  EXPECT_FALSE(queues_.Withdraw("t1").has_value());
  google::protobuf::Value result;
  result.set_string_value("done");
  EXPECT_TRUE(queues_.Complete(lease.token, result).ok());
  ASSERT_EQ(outcomes().size(), 1u);
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kCompleted);
}

TEST_F(WorkQueuesTest, WithdrawOfATaskWithoutAnItemChangesNothing) {
  EXPECT_FALSE(queues_.Withdraw("absent").has_value());
  EXPECT_TRUE(queues_.Stats().empty());
}

TEST_F(WorkQueuesTest, AWithdrawnItemsScheduleTimeoutNeverFires) {
  WorkSpec spec = Spec("t1");
  spec.schedule_timeout = absl::Seconds(1);
  ASSERT_TRUE(queues_.Enqueue(spec).ok());
  ASSERT_TRUE(queues_.Withdraw("t1").has_value());
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(queues_.ExpireDue(), 0u);
  EXPECT_THAT(outcomes(), IsEmpty());
  EXPECT_TRUE(queues_.Stats().empty()) << "an emptied queue is dropped";
}

TEST_F(WorkQueuesTest, AParkedPollNeverGetsAWithdrawnItem) {
  ASSERT_TRUE(queues_.Enqueue(Spec("t1")).ok());
  ASSERT_TRUE(queues_.Withdraw("t1").has_value());
  std::optional<std::vector<WorkLease>> answer;
  ASSERT_TRUE(queues_
                  .Poll({"jobs", "w", 1, absl::Seconds(5)},
                        [&](std::vector<WorkLease> leases) {
                          answer = std::move(leases);
                        })
                  .ok());
  EXPECT_FALSE(answer.has_value());
  clock_.Advance(absl::Seconds(6));
  queues_.ExpireDue();
  ASSERT_TRUE(answer.has_value());
  EXPECT_THAT(*answer, IsEmpty());
}

}  // namespace
}  // namespace corosched::server
