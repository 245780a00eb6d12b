#include "core/time/timer_driver.h"

#include <atomic>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/task/waker.h"
#include "core/time/clock.h"
#include "core/time/sleep.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::testing::ElementsAre;

// The order in which targets were woken, by id.
class WakeLog {
 public:
  void Append(int id) {
    absl::MutexLock lock(&mu_);
    ids_.push_back(id);
  }
  std::vector<int> ids() {
    absl::MutexLock lock(&mu_);
    return ids_;
  }

 private:
  absl::Mutex mu_;
  std::vector<int> ids_ ABSL_GUARDED_BY(mu_);
};

// A wake target that counts what its Wakers did and, when woken, appends
// its id to a log. Atomic, so that a wake from another thread (which the
// ManualClock contract rules out) fails an expectation instead of racing.
struct WakeTarget {
  explicit WakeTarget(int target_id = 0, WakeLog* wake_log = nullptr)
      : id(target_id), log(wake_log) {}

  const int id;
  WakeLog* const log;
  std::atomic<int> clones{0};
  std::atomic<int> wakes{0};  // by value or by reference
  std::atomic<int> drops{0};
  std::atomic<int> consumed{0};  // wakes by value, which release a reference

  // References held by copies of the test's Waker (a timer's, here).
  int copies() const { return clones - drops - consumed; }
};

WakeTarget* Target(const void* data) {
  return static_cast<WakeTarget*>(const_cast<void*>(data));
}

void Record(WakeTarget* target) {
  ++target->wakes;
  if (target->log != nullptr) target->log->Append(target->id);
}

constexpr WakerVTable kTargetVTable = {
    [](const void* data) { ++Target(data)->clones; },
    [](const void* data) {
      Record(Target(data));
      ++Target(data)->consumed;
    },
    [](const void* data) { Record(Target(data)); },
    [](const void* data) { ++Target(data)->drops; },
};

// A Waker for `target`. Declare the target before the Sleeps, so that it
// outlives the copies they keep.
Waker TargetWaker(WakeTarget* target) {
  return Waker::FromRaw(&kTargetVTable, target);
}

Poll<void> PollWith(Sleep& sleep, const Waker& waker) {
  Context cx(waker);
  return sleep.Poll(cx);
}

class TimerDriverTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  TimerDriver driver_{&clock_};

  Sleep SleepFor(absl::Duration duration) {
    return Sleep(&driver_, clock_.Now() + duration);
  }
};

TEST_F(TimerDriverTest, SleepIsPendingUntilAdvanceReachesItsDeadline) {
  WakeTarget target;
  Waker waker = TargetWaker(&target);
  Sleep sleep = SleepFor(absl::Seconds(10));

  EXPECT_TRUE(PollWith(sleep, waker).IsPending());
  EXPECT_EQ(driver_.NumPending(), 1u);
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(target.wakes, 0);
  EXPECT_TRUE(PollWith(sleep, waker).IsPending());

  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(target.wakes, 1);  // fired inside Advance, exactly at the deadline
  EXPECT_EQ(driver_.NumPending(), 0u);
  EXPECT_EQ(target.copies(), 0);
  EXPECT_TRUE(PollWith(sleep, waker).IsReady());
}

TEST_F(TimerDriverTest, SleepStaysReadyAndIsNotRequeuedAfterFiring) {
  WakeTarget target;
  Waker waker = TargetWaker(&target);
  Sleep sleep = SleepFor(absl::Seconds(1));
  ASSERT_TRUE(PollWith(sleep, waker).IsPending());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(PollWith(sleep, waker).IsReady());
  EXPECT_TRUE(PollWith(sleep, waker).IsReady());
  EXPECT_EQ(driver_.NumPending(), 0u);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(target.wakes, 1);
}

TEST_F(TimerDriverTest, SleepPastItsDeadlineIsReadyAtOnce) {
  WakeTarget target;
  Waker waker = TargetWaker(&target);
  Sleep past(&driver_, clock_.Now() - absl::Seconds(1));
  Sleep now(&driver_, clock_.Now());

  EXPECT_TRUE(PollWith(past, waker).IsReady());
  EXPECT_TRUE(PollWith(now, waker).IsReady());
  EXPECT_EQ(driver_.NumPending(), 0u);
  EXPECT_EQ(target.copies(), 0);  // no Waker kept
  EXPECT_EQ(target.wakes, 0);
}

TEST_F(TimerDriverTest, SleepThatWasNeverPolledQueuesNothing) {
  Sleep sleep = SleepFor(absl::Seconds(1));
  EXPECT_EQ(driver_.NumPending(), 0u);
  clock_.Advance(absl::Seconds(2));
  WakeTarget target;
  Waker waker = TargetWaker(&target);
  EXPECT_TRUE(PollWith(sleep, waker).IsReady());
}

TEST_F(TimerDriverTest, DroppingASleepCancelsItsTimer) {
  WakeTarget target;
  Waker waker = TargetWaker(&target);
  {
    Sleep sleep = SleepFor(absl::Seconds(5));
    ASSERT_TRUE(PollWith(sleep, waker).IsPending());
    ASSERT_EQ(driver_.NumPending(), 1u);
    ASSERT_EQ(target.copies(), 1);
  }
  EXPECT_EQ(driver_.NumPending(), 0u);
  EXPECT_EQ(target.copies(), 0);  // its Waker was released
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(target.wakes, 0);
}

TEST_F(TimerDriverTest, DroppingOneSleepLeavesTheOthersQueued) {
  WakeTarget kept_target;
  WakeTarget dropped_target;
  Waker kept_waker = TargetWaker(&kept_target);
  Waker dropped_waker = TargetWaker(&dropped_target);
  Sleep kept = SleepFor(absl::Seconds(5));
  ASSERT_TRUE(PollWith(kept, kept_waker).IsPending());
  {
    Sleep dropped = SleepFor(absl::Seconds(3));
    ASSERT_TRUE(PollWith(dropped, dropped_waker).IsPending());
    ASSERT_EQ(driver_.NumPending(), 2u);
  }
  EXPECT_EQ(driver_.NumPending(), 1u);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(dropped_target.wakes, 0);
  EXPECT_EQ(kept_target.wakes, 1);
}

TEST_F(TimerDriverTest, RepollingWithAnotherWakerReplacesIt) {
  WakeTarget first_target;
  WakeTarget second_target;
  Waker first = TargetWaker(&first_target);
  Waker second = TargetWaker(&second_target);
  Sleep sleep = SleepFor(absl::Seconds(5));

  ASSERT_TRUE(PollWith(sleep, first).IsPending());
  ASSERT_TRUE(PollWith(sleep, second).IsPending());
  EXPECT_EQ(driver_.NumPending(), 1u);  // one timer, not two
  EXPECT_EQ(first_target.copies(), 0);

  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(first_target.wakes, 0);
  EXPECT_EQ(second_target.wakes, 1);
}

TEST_F(TimerDriverTest, RepollingWithTheSameWakerKeepsOneReference) {
  WakeTarget target;
  Waker waker = TargetWaker(&target);
  Sleep sleep = SleepFor(absl::Seconds(5));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(PollWith(sleep, waker).IsPending());
  }
  EXPECT_EQ(target.copies(), 1);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(target.wakes, 1);
}

TEST_F(TimerDriverTest, FiresManyTimersInDeadlineOrder) {
  WakeLog log;
  const std::vector<int> seconds = {5, 1, 4, 2, 3};
  std::deque<WakeTarget> targets;
  std::deque<Waker> wakers;
  std::vector<Sleep> sleeps;
  for (int s : seconds) {
    targets.emplace_back(s, &log);
    wakers.push_back(TargetWaker(&targets.back()));
    sleeps.push_back(SleepFor(absl::Seconds(s)));
    ASSERT_TRUE(PollWith(sleeps.back(), wakers.back()).IsPending());
  }

  clock_.Advance(absl::Milliseconds(2500));
  EXPECT_THAT(log.ids(), ElementsAre(1, 2));
  EXPECT_EQ(driver_.NumPending(), 3u);
  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(log.ids(), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(driver_.NumPending(), 0u);
}

TEST_F(TimerDriverTest, ASleepMovedAfterPollingStillFires) {
  WakeTarget target;
  Waker waker = TargetWaker(&target);
  Sleep sleep = SleepFor(absl::Seconds(1));
  ASSERT_TRUE(PollWith(sleep, waker).IsPending());
  Sleep moved = std::move(sleep);
  EXPECT_EQ(driver_.NumPending(), 1u);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(target.wakes, 1);
  EXPECT_TRUE(PollWith(moved, waker).IsReady());
}

TEST_F(TimerDriverTest, MoveAssigningASleepCancelsItsOldTimer) {
  WakeTarget old_target;
  WakeTarget new_target;
  Waker old_waker = TargetWaker(&old_target);
  Waker new_waker = TargetWaker(&new_target);
  Sleep sleep = SleepFor(absl::Seconds(10));
  ASSERT_TRUE(PollWith(sleep, old_waker).IsPending());
  sleep = SleepFor(absl::Seconds(20));
  EXPECT_EQ(driver_.NumPending(), 0u);
  ASSERT_TRUE(PollWith(sleep, new_waker).IsPending());
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(old_target.wakes, 0);
  EXPECT_EQ(old_target.copies(), 0);
  EXPECT_EQ(new_target.wakes, 1);
}

}  // namespace
}  // namespace corosched
