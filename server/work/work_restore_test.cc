// WorkQueues: leases restored after a restart, and returned undelivered.

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues_fixture.h"
#include "server/work/work_token.h"

namespace corosched::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A second daemon's WorkQueues: the one before the restart is the fixture's.
class WorkQueuesRestoreTest : public WorkQueuesTest {
 protected:
  std::vector<WorkOutcome> restarted_outcomes_;
  WorkQueues restarted_{clock_, [this](WorkOutcome outcome) {
                          restarted_outcomes_.push_back(std::move(outcome));
                        }};
};

TEST_F(WorkQueuesRestoreTest, RestoredLeaseKeepsItsTokenAndDeadlines) {
  WorkSpec spec = Spec("a");
  spec.timeout = absl::Minutes(5);
  WorkLease lease = EnqueueAndLease(spec);
  std::optional<LeaseRecord> record = queues_.FindLease("a");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->nonce.size(), WorkToken::kNonceBytes);
  clock_.Advance(absl::Seconds(4));  // the daemon is down meanwhile

  ASSERT_TRUE(restarted_.Restore(*record).ok());
  std::optional<LeaseRecord> restored = restarted_.FindLease("a");
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->timeout_deadline, lease.record.timeout_deadline);
  EXPECT_EQ(restored->heartbeat_deadline, absl::InfiniteFuture());
  EXPECT_EQ(restored->started_at, lease.record.started_at);
  clock_.Advance(absl::Minutes(4));
  EXPECT_EQ(restarted_.ExpireDue(), 0u);
  ASSERT_TRUE(restarted_.Complete(lease.token, {}).ok());
  ASSERT_THAT(restarted_outcomes_, SizeIs(1));
  EXPECT_EQ(restarted_outcomes_[0].kind, WorkOutcomeKind::kCompleted);
  EXPECT_EQ(restarted_outcomes_[0].attempt, 1u);
}

TEST_F(WorkQueuesRestoreTest, HeartbeatDeadlineGetsOneIntervalAfterRestore) {
  WorkSpec spec = Spec("a");
  spec.heartbeat = absl::Seconds(10);
  spec.timeout = absl::Minutes(5);
  WorkLease lease = EnqueueAndLease(spec);
  clock_.Advance(absl::Seconds(30));  // longer down than one interval
  ASSERT_TRUE(restarted_.Restore(*queues_.FindLease("a")).ok());
  EXPECT_EQ(restarted_.FindLease("a")->heartbeat_deadline,
            clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(restarted_.ExpireDue(), 0u);
  ASSERT_TRUE(restarted_.Heartbeat(lease.token, {}).ok());
}

TEST_F(WorkQueuesRestoreTest, RestoredLeaseEndsAtItsRecordedTimeout) {
  WorkSpec spec = Spec("a");
  spec.timeout = absl::Minutes(1);
  WorkLease lease = EnqueueAndLease(spec);
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(restarted_.Restore(*queues_.FindLease("a")).ok());
  EXPECT_EQ(restarted_.ExpireDue(), 1u);
  ASSERT_THAT(restarted_outcomes_, SizeIs(1));
  EXPECT_EQ(restarted_outcomes_[0].kind, WorkOutcomeKind::kTimeout);
  EXPECT_EQ(restarted_.Complete(lease.token, {}).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(WorkQueuesRestoreTest, DamagedOrRepeatedRecordsAreRefused) {
  EnqueueAndLease(Spec("a"));
  LeaseRecord record = *queues_.FindLease("a");
  LeaseRecord damaged = record;
  damaged.nonce = "short";
  EXPECT_EQ(restarted_.Restore(damaged).code(),
            absl::StatusCode::kInvalidArgument);
  LeaseRecord unbounded = record;
  unbounded.timeout_deadline = absl::InfiniteFuture();
  EXPECT_EQ(restarted_.Restore(unbounded).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(restarted_.Restore(record).ok());
  EXPECT_EQ(restarted_.Restore(record).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(WorkQueuesRestoreTest, OtherTokensOfTheTaskAreRefusedAfterRestore) {
  WorkLease lease = EnqueueAndLease(Spec("a"));
  ASSERT_TRUE(restarted_.Restore(*queues_.FindLease("a")).ok());
  absl::StatusOr<WorkToken> token = WorkToken::Decode(lease.token);
  ASSERT_TRUE(token.ok());
  token->attempt = 2;
  EXPECT_EQ(restarted_.Complete(token->Encode(), {}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restarted_outcomes_, IsEmpty());
}

TEST_F(WorkQueuesTest, UndeliveredLeaseGoesBackToTheHeadOfItsQueue) {
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("b")).ok());
  WorkLease lost = PollNow().at(0);
  ASSERT_EQ(lost.record.task_id, "a");
  ASSERT_TRUE(queues_.ReturnUndelivered(lost.token).ok());
  std::vector<WorkLease> again = PollNow();
  ASSERT_THAT(again, SizeIs(1));
  EXPECT_EQ(again[0].record.task_id, "a");
  EXPECT_NE(again[0].token, lost.token) << "a new lease, a new token";
  EXPECT_EQ(queues_.Complete(lost.token, {}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(queues_.Complete(again[0].token, {}).ok());
  EXPECT_THAT(outcomes(), SizeIs(1));
}

TEST_F(WorkQueuesTest, UndeliveredLeaseGoesToTheNextParkedPoll) {
  std::vector<std::string> got;
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  WorkLease lost = PollNow().at(0);
  ASSERT_TRUE(queues_
                  .Poll({"jobs", "w2", 1, absl::Seconds(30)},
                        [&](std::vector<WorkLease> l) {
                          got.push_back(l.at(0).record.task_id);
                        })
                  .ok());
  ASSERT_TRUE(queues_.ReturnUndelivered(lost.token).ok());
  EXPECT_THAT(got, ElementsAre("a"));
}

}  // namespace
}  // namespace corosched::server
