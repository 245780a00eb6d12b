#include "server/work/work_timer.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/time/clock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues.h"

namespace corosched::server {
namespace {

// WorkQueues whose timer is a WorkTimer, as TaskRunner wires them: moving
// the manual clock is all it takes for deadlines to fire.
class WorkTimerTest : public ::testing::Test {
 protected:
  static WorkSpec Spec(std::string task_id) {
    WorkSpec spec;
    spec.task_id = std::move(task_id);
    spec.queue = "jobs";
    spec.heartbeat = absl::Seconds(10);
    spec.timeout = absl::Minutes(5);
    return spec;
  }
  // Waits in real time (bounded) for the timer thread to report outcomes.
  std::vector<WorkOutcome> AwaitOutcomes(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return outcomes_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(20));
    return outcomes_;
  }
  size_t OutcomeCount() {
    absl::MutexLock lock(&mu_);
    return outcomes_.size();
  }

  ManualClock clock_;
  absl::Mutex mu_;
  std::vector<WorkOutcome> outcomes_ ABSL_GUARDED_BY(mu_);
  WorkQueues queues_{clock_,
                     [this](WorkOutcome outcome) {
                       absl::MutexLock lock(&mu_);
                       outcomes_.push_back(std::move(outcome));
                     },
                     [this](absl::Time deadline) { timer_->Rearm(deadline); }};
  // Made after the queues, destroyed before them.
  std::optional<WorkTimer> timer_storage_;
  WorkTimer* timer_ = &timer_storage_.emplace(clock_, queues_);
};

TEST_F(WorkTimerTest, MovingTheClockPastAHeartbeatDeadlineEndsTheLease) {
  ASSERT_TRUE(queues_.Enqueue(Spec("t1")).ok());
  std::vector<WorkLease> leases;
  ASSERT_TRUE(queues_
                  .Poll({.queue = "jobs", .worker_identity = "w"},
                        [&](std::vector<WorkLease> answer) {
                          leases = std::move(answer);
                        })
                  .ok());
  ASSERT_EQ(leases.size(), 1u);
  clock_.Advance(absl::Seconds(9));
  ASSERT_TRUE(queues_.Heartbeat(leases[0].token, {}).ok());
  // 9s after that heartbeat: still within the lease.
  clock_.Advance(absl::Seconds(9));
  ASSERT_TRUE(queues_.Heartbeat(leases[0].token, {}).ok());
  EXPECT_EQ(OutcomeCount(), 0u);
  clock_.Advance(absl::Seconds(10));
  std::vector<WorkOutcome> outcomes = AwaitOutcomes(1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].task_id, "t1");
  EXPECT_EQ(outcomes[0].kind, WorkOutcomeKind::kHeartbeatTimeout);
  EXPECT_EQ(queues_.Heartbeat(leases[0].token, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(WorkTimerTest, AnItemNoWorkerTookEndsAtItsScheduleTimeout) {
  WorkSpec spec = Spec("t2");
  spec.schedule_timeout = absl::Minutes(1);
  ASSERT_TRUE(queues_.Enqueue(std::move(spec)).ok());
  clock_.Advance(absl::Minutes(1));
  std::vector<WorkOutcome> outcomes = AwaitOutcomes(1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].kind, WorkOutcomeKind::kScheduleTimeout);
}

TEST_F(WorkTimerTest, AParkedPollIsAnsweredEmptyWhenItsWaitPasses) {
  absl::Notification answered;
  std::vector<WorkLease> leases{WorkLease{}};
  ASSERT_TRUE(queues_
                  .Poll({.queue = "jobs",
                         .worker_identity = "w",
                         .wait = absl::Seconds(30)},
                        [&](std::vector<WorkLease> answer) {
                          leases = std::move(answer);
                          answered.Notify();
                        })
                  .ok());
  EXPECT_FALSE(answered.HasBeenNotified());
  clock_.Advance(absl::Seconds(30));
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_TRUE(leases.empty());
}

TEST_F(WorkTimerTest, ADeadlineEarlierThanTheArmedOneStillFires) {
  // The timer first waits for a far deadline, then an earlier one appears.
  WorkSpec slow = Spec("slow");
  slow.heartbeat = absl::ZeroDuration();
  slow.timeout = absl::Hours(2);
  ASSERT_TRUE(queues_.Enqueue(std::move(slow)).ok());
  ASSERT_TRUE(queues_
                  .Poll({.queue = "jobs", .worker_identity = "w"},
                        [](std::vector<WorkLease>) {})
                  .ok());
  WorkSpec quick = Spec("quick");
  quick.schedule_timeout = absl::Seconds(1);
  ASSERT_TRUE(queues_.Enqueue(std::move(quick)).ok());
  clock_.Advance(absl::Seconds(1));
  std::vector<WorkOutcome> outcomes = AwaitOutcomes(1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].task_id, "quick");
  EXPECT_EQ(outcomes[0].kind, WorkOutcomeKind::kScheduleTimeout);
}

}  // namespace
}  // namespace corosched::server
