// WorkQueues: queues, polls, streams, stats. Leases: work_leases_test.cc.

#include "server/work/work_queues.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues_fixture.h"

namespace corosched::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<std::string> TaskIds(const std::vector<WorkLease>& leases) {
  std::vector<std::string> ids;
  ids.reserve(leases.size());
  for (const WorkLease& lease : leases) ids.push_back(lease.record.task_id);
  return ids;
}

TEST_F(WorkQueuesTest, PollTakesQueuedItemsInFifoOrderUpToMaxItems) {
  for (const char* id : {"a", "b", "c"})
    ASSERT_TRUE(queues_.Enqueue(Spec(id)).ok());
  EXPECT_THAT(TaskIds(PollNow("jobs", 2)), ElementsAre("a", "b"));
  std::vector<WorkLease> last = PollNow("jobs", 2);
  ASSERT_THAT(TaskIds(last), ElementsAre("c"));
  EXPECT_EQ(last[0].input.string_value(), "input of c");
  EXPECT_EQ(last[0].record.worker_identity, "worker-1");
  EXPECT_EQ(last[0].record.started_at, clock_.Now());
}

TEST_F(WorkQueuesTest, TwoPollersNeverGetTheSameItem) {
  ASSERT_TRUE(queues_.Enqueue(Spec("only")).ok());
  EXPECT_THAT(PollNow("jobs", 1, "first"), SizeIs(1));
  EXPECT_THAT(PollNow("jobs", 1, "second"), IsEmpty());
}

TEST_F(WorkQueuesTest, QueuesAreSeparate) {
  ASSERT_TRUE(queues_.Enqueue(Spec("a", "images")).ok());
  EXPECT_THAT(PollNow("jobs"), IsEmpty());
  EXPECT_THAT(TaskIds(PollNow("images")), ElementsAre("a"));
}

TEST_F(WorkQueuesTest, LongPollWakesOnEnqueue) {
  std::optional<std::vector<WorkLease>> answer;
  auto id =
      queues_.Poll({"jobs", "w", 5, absl::Seconds(30)},
                   [&](std::vector<WorkLease> l) { answer = std::move(l); });
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(answer.has_value());
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  ASSERT_TRUE(answer.has_value());
  EXPECT_THAT(TaskIds(*answer), ElementsAre("a"));
  EXPECT_FALSE(queues_.CancelWait(*id)) << "an answered poll is gone";
}

TEST_F(WorkQueuesTest, LongPollAnswersEmptyOnceItsWaitPasses) {
  std::optional<std::vector<WorkLease>> answer;
  ASSERT_TRUE(
      queues_
          .Poll({"jobs", "w", 1, absl::Seconds(30)},
                [&](std::vector<WorkLease> l) { answer = std::move(l); })
          .ok());
  EXPECT_EQ(queues_.NextDeadline(), clock_.Now() + absl::Seconds(30));
  clock_.Advance(absl::Seconds(29));
  queues_.ExpireDue();
  EXPECT_FALSE(answer.has_value());
  clock_.Advance(absl::Seconds(1));
  queues_.ExpireDue();
  ASSERT_TRUE(answer.has_value());
  EXPECT_THAT(*answer, IsEmpty());
  ASSERT_TRUE(queues_.Enqueue(Spec("later")).ok());
  EXPECT_THAT(TaskIds(PollNow()), ElementsAre("later"))
      << "the timed-out poll took nothing";
}

TEST_F(WorkQueuesTest, CancelledPollIsNeverAnsweredAndTakesNothing) {
  bool called = false;
  auto id = queues_.Poll({"jobs", "w", 1, absl::Seconds(30)},
                         [&](const std::vector<WorkLease>&) { called = true; });
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(queues_.CancelWait(*id));
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  EXPECT_FALSE(called);
  EXPECT_THAT(TaskIds(PollNow()), ElementsAre("a"));
}

TEST_F(WorkQueuesTest, ParkedPollsAreAnsweredInArrivalOrder) {
  std::vector<std::string> got;
  for (const char* worker : {"w1", "w2"}) {
    ASSERT_TRUE(queues_
                    .Poll({"jobs", worker, 1, absl::Seconds(30)},
                          [&got, worker](std::vector<WorkLease> l) {
                            got.push_back(std::string(worker) + ":" +
                                          l.at(0).record.task_id);
                          })
                    .ok());
  }
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("b")).ok());
  EXPECT_THAT(got, ElementsAre("w1:a", "w2:b"));
}

TEST_F(WorkQueuesTest, StreamReceivesItemsOnlyAgainstCredit) {
  std::vector<std::string> got;
  auto stream = queues_.OpenStream("jobs", "streamer", [&](const WorkLease& l) {
    got.push_back(l.record.task_id);
  });
  ASSERT_TRUE(stream.ok());
  for (const char* id : {"a", "b", "c"})
    ASSERT_TRUE(queues_.Enqueue(Spec(id)).ok());
  EXPECT_THAT(got, IsEmpty());
  ASSERT_TRUE(queues_.AddCredit(*stream, 2).ok());
  EXPECT_THAT(got, ElementsAre("a", "b"));
  ASSERT_TRUE(queues_.AddCredit(*stream, 2).ok());
  EXPECT_THAT(got, ElementsAre("a", "b", "c"));
  ASSERT_TRUE(queues_.Enqueue(Spec("d")).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("e")).ok());
  EXPECT_THAT(got, ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(TaskIds(PollNow()), ElementsAre("e"));
}

TEST_F(WorkQueuesTest, ClosedStreamTakesNoMoreItems) {
  int got = 0;
  auto stream =
      queues_.OpenStream("jobs", "s", [&](const WorkLease&) { ++got; });
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(queues_.AddCredit(*stream, 5).ok());
  EXPECT_TRUE(queues_.CancelWait(*stream));
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  EXPECT_EQ(got, 0);
  EXPECT_EQ(queues_.AddCredit(*stream, 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queues_.AddCredit(12345, 1).code(), absl::StatusCode::kNotFound);
}

TEST_F(WorkQueuesTest, StreamCreditAddsUpToAtMostOneHundred) {
  int got = 0;
  auto stream =
      queues_.OpenStream("jobs", "s", [&](const WorkLease&) { ++got; });
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(queues_.AddCredit(*stream, 100).ok());
  ASSERT_TRUE(queues_.AddCredit(*stream, 50).ok());
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(queues_.Enqueue(Spec("t" + std::to_string(i))).ok());
  }
  EXPECT_EQ(got, 100);
  EXPECT_EQ(queues_.Stats().at(0).depth, 50u);
}

TEST_F(WorkQueuesTest, BadCreditIsInvalidArgument) {
  auto stream = queues_.OpenStream("jobs", "s", [](const WorkLease&) {});
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(queues_.AddCredit(*stream, 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queues_.AddCredit(*stream, 101).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(WorkQueuesTest, InvalidQueueNameIsRefusedEverywhere) {
  EXPECT_EQ(queues_.Enqueue(Spec("a", "no spaces")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queues_
                .Poll({"", "w", 1, absl::ZeroDuration()},
                      [](const std::vector<WorkLease>&) {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      queues_.OpenStream(std::string(65, 'q'), "w", [](const WorkLease&) {})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(queues_.Stats(), IsEmpty());
}

TEST_F(WorkQueuesTest, DistinctQueuesAreBounded) {
  for (size_t i = 0; i < WorkQueues::kMaxQueues; ++i) {
    ASSERT_TRUE(
        queues_.Enqueue(Spec("t" + std::to_string(i), "q" + std::to_string(i)))
            .ok());
  }
  absl::Status refused = queues_.Enqueue(Spec("one-more", "one-more"));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_TRUE(queues_.Enqueue(Spec("same-queue", "q0")).ok());
  EXPECT_THAT(PollNow("q1"), SizeIs(1));
  ASSERT_TRUE(queues_.Fail(PollNow("q2").at(0).token, "E", "", false).ok());
  EXPECT_TRUE(queues_.Enqueue(Spec("one-more", "one-more")).ok())
      << "an emptied queue frees its place";
}

TEST_F(WorkQueuesTest, EnqueueWhileTheTaskHasAnItemIsAlreadyExists) {
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  EXPECT_EQ(queues_.Enqueue(Spec("a", "jobs", 2)).code(),
            absl::StatusCode::kAlreadyExists);
  PollNow();
  EXPECT_EQ(queues_.Enqueue(Spec("a", "jobs", 2)).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(WorkQueuesTest, StatsShowDepthOldestAgePollersAndLeases) {
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(queues_.Enqueue(Spec("b")).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("c")).ok());
  PollNow();  // leases a
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(queues_
                  .Poll({"idle", "w", 1, absl::Seconds(10)},
                        [](const std::vector<WorkLease>&) {})
                  .ok());
  std::vector<WorkQueueStats> stats = queues_.Stats();
  ASSERT_THAT(stats, SizeIs(2));
  EXPECT_EQ(stats[0].queue, "idle");
  EXPECT_EQ(stats[0].pollers, 1u);
  EXPECT_EQ(stats[0].depth, 0u);
  EXPECT_EQ(stats[1].queue, "jobs");
  EXPECT_EQ(stats[1].depth, 2u);
  EXPECT_EQ(stats[1].oldest_age, absl::Seconds(2)) << "b waited since then";
  EXPECT_EQ(stats[1].leased, 1u);
  EXPECT_EQ(stats[1].pollers, 0u);
}

TEST_F(WorkQueuesTest, ScheduleTimeoutEndsAnItemNoWorkerTook) {
  WorkSpec spec = Spec("a");
  spec.schedule_timeout = absl::Minutes(5);
  ASSERT_TRUE(queues_.Enqueue(spec).ok());
  EXPECT_EQ(queues_.NextDeadline(), clock_.Now() + absl::Minutes(5));
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kScheduleTimeout);
  EXPECT_EQ(outcomes()[0].task_id, "a");
  EXPECT_THAT(PollNow(), IsEmpty());
}

TEST_F(WorkQueuesTest, PollDoesNotTakeAnItemPastItsScheduleTimeout) {
  WorkSpec spec = Spec("a");
  spec.schedule_timeout = absl::Seconds(1);
  ASSERT_TRUE(queues_.Enqueue(spec).ok());
  clock_.Advance(absl::Seconds(1));  // no sweep yet
  EXPECT_THAT(PollNow(), IsEmpty());
  ASSERT_THAT(outcomes(), SizeIs(1));
  EXPECT_EQ(outcomes()[0].kind, WorkOutcomeKind::kScheduleTimeout);
  EXPECT_EQ(queues_.ExpireDue(), 0u) << "reported once";
}

TEST_F(WorkQueuesTest, RecordedScheduledAtCountsTowardsTheScheduleTimeout) {
  WorkSpec spec = Spec("a");
  spec.schedule_timeout = absl::Minutes(5);
  spec.scheduled_at = clock_.Now() - absl::Minutes(4);
  ASSERT_TRUE(queues_.Enqueue(spec).ok());
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
}

TEST(WorkQueuesTimerTest, TellsTheOwnerOfEachEarlierDeadline) {
  ManualClock clock;
  const absl::Time start = clock.Now();
  std::vector<absl::Duration> told;
  WorkQueues queues(
      clock, [](const WorkOutcome&) {},
      [&](absl::Time deadline) { told.push_back(deadline - start); });
  WorkSpec spec;
  spec.task_id = "a";
  spec.queue = "jobs";
  spec.timeout = absl::Minutes(1);
  spec.schedule_timeout = absl::Minutes(10);
  ASSERT_TRUE(queues.Enqueue(spec).ok());
  spec.task_id = "b";
  ASSERT_TRUE(queues.Enqueue(spec).ok());  // later: nothing to tell
  ASSERT_TRUE(queues
                  .Poll({"idle", "w", 1, absl::Seconds(30)},
                        [](const std::vector<WorkLease>&) {})
                  .ok());
  EXPECT_THAT(told, ElementsAre(absl::Minutes(10), absl::Seconds(30)));
  clock.Advance(absl::Seconds(30));
  queues.ExpireDue();  // the poll's wait ends; the owner re-arms at 10m
  ASSERT_TRUE(queues
                  .Poll({"jobs", "w", 1, absl::ZeroDuration()},
                        [](const std::vector<WorkLease>&) {})
                  .ok());  // leases a until 1m30s
  EXPECT_THAT(told, ElementsAre(absl::Minutes(10), absl::Seconds(30),
                                absl::Seconds(90)));
  EXPECT_EQ(queues.NextDeadline(), start + absl::Seconds(90));
}

}  // namespace
}  // namespace corosched::server
