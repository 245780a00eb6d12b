// WorkQueues: what its WorkQueuesObserver hears.

#include "server/work/work_observer.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues.h"

namespace corosched::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Writes each event as a line. Reads the queues' Stats() on every queued
// item, which would deadlock if it were called under their mutex.
class RecordingObserver final : public WorkQueuesObserver {
 public:
  void set_queues(WorkQueues* queues) { queues_ = queues; }

  void OnItemQueued(absl::string_view queue) override {
    const size_t queues = queues_ == nullptr ? 0 : queues_->Stats().size();
    Add(absl::StrCat("queued ", queue, " (", queues, " queues)"));
  }
  void OnItemLeased(absl::string_view queue,
                    absl::Duration schedule_to_start) override {
    Add(absl::StrCat("leased ", queue, " after ",
                     absl::FormatDuration(schedule_to_start)));
  }
  void OnAttemptEnded(const WorkAttemptEnd& end) override {
    Add(absl::StrCat(
        "ended ", end.queue, " ", WorkOutcomeKindName(end.outcome),
        " error=", end.error, end.had_lease ? " ran " : " never leased",
        end.had_lease ? absl::FormatDuration(end.run_duration) : ""));
  }
  void OnLeaseExpired(absl::string_view queue, LeaseExpiryKind kind) override {
    Add(absl::StrCat(
        "expired ", queue, " ",
        kind == LeaseExpiryKind::kHeartbeat ? "heartbeat" : "timeout"));
  }

  std::vector<std::string> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  void Add(std::string event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }

  WorkQueues* queues_ = nullptr;
  absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

class WorkObserverTest : public ::testing::Test {
 protected:
  WorkObserverTest() { observer_.set_queues(&queues_); }

  static WorkSpec Spec(std::string task_id, std::string queue = "jobs") {
    WorkSpec spec;
    spec.task_id = std::move(task_id);
    spec.queue = std::move(queue);
    spec.timeout = absl::Hours(1);
    return spec;
  }

  std::optional<WorkLease> PollNow(const std::string& queue = "jobs") {
    std::optional<WorkLease> leased;
    EXPECT_TRUE(queues_
                    .Poll({queue, "worker-1", 1, absl::ZeroDuration()},
                          [&leased](std::vector<WorkLease> leases) {
                            if (!leases.empty()) leased = leases.front();
                          })
                    .ok());
    return leased;
  }

  ManualClock clock_;
  RecordingObserver observer_;
  WorkQueues queues_{clock_, [](const WorkOutcome&) {}, nullptr, &observer_};
};

TEST_F(WorkObserverTest, CompletedItemIsQueuedLeasedAndEndedWithItsTimes) {
  ASSERT_TRUE(queues_.Enqueue(Spec("a")).ok());
  clock_.Advance(absl::Seconds(3));
  std::optional<WorkLease> lease = PollNow();
  ASSERT_TRUE(lease.has_value());
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(queues_.Complete(lease->token, {}).ok());
  EXPECT_THAT(observer_.events(),
              ElementsAre("queued jobs (1 queues)", "leased jobs after 3s",
                          "ended jobs completed error= ran 2s"));
}

TEST_F(WorkObserverTest, FailureCarriesTheWorkersErrorName) {
  ASSERT_TRUE(queues_.Enqueue(Spec("a", "mail")).ok());
  std::optional<WorkLease> lease = PollNow("mail");
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(queues_.Fail(lease->token, "smtp_down", "refused", true).ok());
  EXPECT_THAT(observer_.events(),
              ElementsAre("queued mail (1 queues)", "leased mail after 0",
                          "ended mail failed error=smtp_down ran 0"));
}

TEST_F(WorkObserverTest, MissedHeartbeatIsALeaseExpiryThenItsEnd) {
  WorkSpec spec = Spec("a");
  spec.heartbeat = absl::Seconds(10);
  ASSERT_TRUE(queues_.Enqueue(spec).ok());
  ASSERT_TRUE(PollNow().has_value());
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
  EXPECT_THAT(
      observer_.events(),
      ElementsAre("queued jobs (1 queues)", "leased jobs after 0",
                  "expired jobs heartbeat",
                  "ended jobs heartbeat timeout error=heartbeat_timeout ran "
                  "10s"));
}

TEST_F(WorkObserverTest, PassedTimeoutIsALeaseExpiryOfKindTimeout) {
  WorkSpec spec = Spec("a");
  spec.timeout = absl::Seconds(30);
  spec.heartbeat = absl::Minutes(1);
  ASSERT_TRUE(queues_.Enqueue(spec).ok());
  ASSERT_TRUE(PollNow().has_value());
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
  EXPECT_THAT(observer_.events(),
              ElementsAre("queued jobs (1 queues)", "leased jobs after 0",
                          "expired jobs timeout",
                          "ended jobs timeout error=timeout ran 30s"));
}

TEST_F(WorkObserverTest, ItemsThatWereNeverLeasedEndWithoutARunOrExpiry) {
  WorkSpec waits = Spec("a");
  waits.schedule_timeout = absl::Minutes(1);
  ASSERT_TRUE(queues_.Enqueue(waits).ok());
  ASSERT_TRUE(queues_.Enqueue(Spec("b", "other")).ok());
  EXPECT_TRUE(queues_.RequestCancel("b"));
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
  EXPECT_THAT(
      observer_.events(),
      ElementsAre("queued jobs (1 queues)", "queued other (2 queues)",
                  "ended other cancelled error=cancelled never leased",
                  "ended jobs schedule timeout error=schedule_timeout never "
                  "leased"));
}

TEST_F(WorkObserverTest, CancelledLeaseThatRunsOutStillCountsAsAnExpiry) {
  WorkSpec spec = Spec("a");
  spec.heartbeat = absl::Seconds(5);
  ASSERT_TRUE(queues_.Enqueue(spec).ok());
  ASSERT_TRUE(PollNow().has_value());
  EXPECT_TRUE(queues_.RequestCancel("a"));
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(queues_.ExpireDue(), 1u);
  std::vector<std::string> events = observer_.events();
  ASSERT_THAT(events, SizeIs(4));
  EXPECT_EQ(events[2], "expired jobs heartbeat");
  EXPECT_EQ(events[3], "ended jobs cancelled error=cancelled ran 5s");
}

TEST(WorkObserverNullTest, QueuesWithoutAnObserverWorkAsBefore) {
  ManualClock clock;
  std::vector<WorkOutcome> outcomes;
  WorkQueues queues(clock, [&outcomes](WorkOutcome outcome) {
    outcomes.push_back(std::move(outcome));
  });
  WorkSpec spec;
  spec.task_id = "a";
  spec.queue = "jobs";
  spec.timeout = absl::Seconds(1);
  ASSERT_TRUE(queues.Enqueue(spec).ok());
  EXPECT_TRUE(queues.RequestCancel("a"));
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_EQ(outcomes[0].kind, WorkOutcomeKind::kCancelled);
  EXPECT_THAT(queues.Stats(), IsEmpty());
}

}  // namespace
}  // namespace corosched::server
