#include "server/tasks/delayed_calls.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(DelayedCallsTest, CallsOnceTheClockReachesTheDelay) {
  ManualClock clock;
  DelayedCalls timer(clock);
  absl::Notification called;
  std::atomic<bool> was_due{false};
  timer.After(absl::Seconds(2), [&](bool due) {
    was_due = due;
    called.Notify();
  });
  clock.Advance(absl::Seconds(1));
  EXPECT_FALSE(called.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_TRUE(was_due);
}

TEST(DelayedCallsTest, StopAnswersWhatIsPendingAsNotDue) {
  ManualClock clock;
  DelayedCalls timer(clock);
  int not_due = 0;
  timer.After(absl::Hours(1), [&](bool due) { not_due += due ? 0 : 1; });
  timer.Stop();
  EXPECT_EQ(not_due, 1);
  // Once stopped, a new call is answered at once, not due.
  timer.After(absl::Seconds(1), [&](bool due) { not_due += due ? 0 : 1; });
  EXPECT_EQ(not_due, 2);
}

}  // namespace
}  // namespace corosched::server
