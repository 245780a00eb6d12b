// WorkQueues: leases, tokens, outcomes and cancels.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues_fixture.h"
#include "server/work/work_token.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

google::protobuf::Value Text(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  return value;
}

WorkSpec WithLease(WorkSpec spec, absl::Duration heartbeat,
                   absl::Duration timeout) {
  spec.heartbeat = heartbeat;
  spec.timeout = timeout;
  return spec;
}

TEST_F(WorkQueuesTest, CompleteReportsTheResultOnce) {
  WorkLease lease = EnqueueAndLease(Spec("a"));
  ASSERT_TRUE(queues_.Complete(lease.token, Text("done")).ok());
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kCompleted);
  EXPECT_EQ(outcomes()[0].task_id, "a");
  EXPECT_EQ(outcomes()[0].attempt, 1u);
  EXPECT_EQ(outcomes()[0].result.string_value(), "done");
  EXPECT_THAT(queues_.Stats(), IsEmpty());
}

TEST_F(WorkQueuesTest, CompleteTwiceIsRefusedAsAlreadyCompleted) {
  WorkLease lease = EnqueueAndLease(Spec("a"));
  ASSERT_TRUE(queues_.Complete(lease.token, Text("done")).ok());
  absl::Status again = queues_.Complete(lease.token, Text("other"));
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("already completed"));
  EXPECT_TRUE(
      again.GetPayload(WorkQueues::kAlreadyAcceptedPayload).has_value());
  absl::Status fail = queues_.Fail(lease.token, "E", "", true);
  EXPECT_EQ(fail.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcomes(), SizeIs(1));
}

TEST_F(WorkQueuesTest, FailReportsErrorMessageAndRetryable) {
  WorkLease lease = EnqueueAndLease(Spec("a"));
  ASSERT_TRUE(queues_.Fail(lease.token, "HttpTimeout", "gave up", true).ok());
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kFailed);
  EXPECT_EQ(outcomes()[0].error, "HttpTimeout");
  EXPECT_EQ(outcomes()[0].message, "gave up");
  EXPECT_TRUE(outcomes()[0].retryable);
  EXPECT_THAT(queues_.Fail(lease.token, "HttpTimeout", "", true).message(),
              HasSubstr("already failed"));
}

TEST_F(WorkQueuesTest, FailWithoutAnErrorNameIsInvalidAndChangesNothing) {
  WorkLease lease = EnqueueAndLease(Spec("a"));
  EXPECT_EQ(queues_.Fail(lease.token, "", "why", false).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(queues_.Complete(lease.token, Text("ok")).ok());
}

TEST_F(WorkQueuesTest, HeartbeatExtendsTheLease) {
  WorkLease lease = EnqueueAndLease(
      WithLease(Spec("a"), absl::Seconds(10), absl::Minutes(5)));
  EXPECT_EQ(lease.record.heartbeat_deadline, clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(lease.record.timeout_deadline, clock_.Now() + absl::Minutes(5));
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(9));
    EXPECT_EQ(queues_.ExpireDue(), 0u);
    auto beat = queues_.Heartbeat(lease.token, Text("step"));
    ASSERT_TRUE(beat.ok()) << beat.status();
    EXPECT_FALSE(beat->cancel_requested);
    EXPECT_EQ(beat->heartbeat_deadline, clock_.Now() + absl::Seconds(10));
  }
  EXPECT_TRUE(queues_.Complete(lease.token, Text("done")).ok());
}

TEST_F(WorkQueuesTest, MissedHeartbeatEndsTheLeaseAndFencesItsToken) {
  WorkLease lease = EnqueueAndLease(
      WithLease(Spec("a"), absl::Seconds(10), absl::Minutes(5)));
  ASSERT_TRUE(queues_.Heartbeat(lease.token, Text("half way")).ok());
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kHeartbeatTimeout);
  EXPECT_EQ(outcomes()[0].last_details.string_value(), "half way");
  absl::Status late = queues_.Complete(lease.token, Text("late"));
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.message(), HasSubstr("heartbeat timeout"));
  EXPECT_FALSE(
      late.GetPayload(WorkQueues::kAlreadyAcceptedPayload).has_value());
  EXPECT_EQ(queues_.Heartbeat(lease.token, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcomes(), SizeIs(1));
}

TEST_F(WorkQueuesTest, TimeoutEndsTheLeaseWhateverTheHeartbeats) {
  WorkLease lease = EnqueueAndLease(
      WithLease(Spec("a"), absl::Seconds(10), absl::Seconds(25)));
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(absl::Seconds(9));
    ASSERT_TRUE(queues_.Heartbeat(lease.token, {}).ok());
  }
  clock_.Advance(absl::Seconds(7));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kTimeout);
}

TEST_F(WorkQueuesTest, StaleCompletionIsRefusedEvenBeforeTheSweep) {
  WorkLease lease = EnqueueAndLease(
      WithLease(Spec("a"), absl::ZeroDuration(), absl::Seconds(30)));
  clock_.Advance(absl::Seconds(31));  // ExpireDue has not run
  absl::Status late = queues_.Complete(lease.token, Text("late"));
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kTimeout);
  EXPECT_EQ(queues_.ExpireDue(), 0u) << "reported once";
}

TEST_F(WorkQueuesTest, ForgedTokenIsRefusedAndChangesNothing) {
  WorkLease lease = EnqueueAndLease(Spec("a"));
  absl::StatusOr<WorkToken> real = WorkToken::Decode(lease.token);
  ASSERT_TRUE(real.ok());
  WorkToken forged = *real;
  forged.nonce[0] = static_cast<char>(forged.nonce[0] ^ 1);
  EXPECT_EQ(queues_.Complete(forged.Encode(), Text("x")).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(queues_.Heartbeat(forged.Encode(), {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcomes(), IsEmpty());
  EXPECT_TRUE(queues_.Complete(lease.token, Text("real")).ok());
}

TEST_F(WorkQueuesTest, UnknownAndMalformedTokensAreRefused) {
  WorkToken unknown{"nobody", 1, std::string(WorkToken::kNonceBytes, 'n')};
  EXPECT_EQ(queues_.Complete(unknown.Encode(), {}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(queues_.Complete("not a token", {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queues_.Fail("", "E", "", false).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queues_.Heartbeat(std::string(1000, 'x'), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(WorkQueuesTest, SupersededAttemptsTokenIsRefused) {
  WorkLease first = EnqueueAndLease(
      WithLease(Spec("a"), absl::Seconds(5), absl::ZeroDuration()));
  clock_.Advance(absl::Seconds(5));
  ASSERT_EQ(queues_.ExpireDue(), 1u);
  WorkLease second = EnqueueAndLease(Spec("a", "jobs", 2));
  EXPECT_EQ(second.record.attempt, 2u);
  EXPECT_NE(first.token, second.token);
  EXPECT_EQ(queues_.Complete(first.token, Text("old")).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(queues_.Complete(second.token, Text("new")).ok());
  ASSERT_THAT(outcomes(), SizeIs(2));
  EXPECT_EQ(outcomes()[1].attempt, 2u);
  EXPECT_EQ(outcomes()[1].result.string_value(), "new");
}

TEST_F(WorkQueuesTest, CancelIsSeenAtTheNextHeartbeatAndBlocksCompletion) {
  WorkLease lease = EnqueueAndLease(
      WithLease(Spec("a"), absl::Seconds(10), absl::ZeroDuration()));
  EXPECT_TRUE(queues_.RequestCancel("a"));
  auto beat = queues_.Heartbeat(lease.token, {});
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->cancel_requested);
  EXPECT_EQ(queues_.Complete(lease.token, Text("done")).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcomes(), IsEmpty());
  ASSERT_TRUE(queues_.Fail(lease.token, "Cancelled", "stopped", false).ok());
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kCancelled);
  EXPECT_EQ(outcomes()[0].message, "stopped");
}

TEST_F(WorkQueuesTest, CancelledLeaseThatRunsOutIsReportedCancelled) {
  WorkLease lease = EnqueueAndLease(
      WithLease(Spec("a"), absl::Seconds(10), absl::ZeroDuration()));
  EXPECT_TRUE(queues_.RequestCancel("a"));
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kCancelled);
}

TEST_F(WorkQueuesTest, CancelOfAQueuedItemRemovesItAtOnce) {
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  EXPECT_TRUE(queues_.RequestCancel("a"));
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kCancelled);
  EXPECT_THAT(PollNow(), IsEmpty());
  EXPECT_FALSE(queues_.RequestCancel("a"));
  EXPECT_FALSE(queues_.RequestCancel("never"));
}

}  // namespace
}  // namespace corosched::server
