#include "core/sync/notify.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "core/sync/oneshot.h"
#include "core/task/block_on.h"
#include "core/task/waker.h"
#include "core/testing/wake_counter.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::corosched::testing::Party;
using ::corosched::testing::WakeCounter;

TEST(NotifyTest, StoresAPermitWhenNobodyWaits) {
  Notify notify;
  notify.NotifyOne();
  Party party;
  Notify::Notified notified = notify.Wait();
  EXPECT_TRUE(party.Poll(notified).IsReady());
  EXPECT_EQ(party.counter.refs, 1);  // no Waker kept
}

TEST(NotifyTest, APermitIsConsumedByOneWaiter) {
  Notify notify;
  notify.NotifyOne();
  Party first;
  Party second;
  Notify::Notified a = notify.Wait();
  Notify::Notified b = notify.Wait();
  EXPECT_TRUE(first.Poll(a).IsReady());
  EXPECT_TRUE(second.Poll(b).IsPending());
}

TEST(NotifyTest, PermitsDoNotAccumulate) {
  Notify notify;
  notify.NotifyOne();
  notify.NotifyOne();
  notify.NotifyOne();
  Party party;
  Notify::Notified first = notify.Wait();
  Notify::Notified second = notify.Wait();
  EXPECT_TRUE(party.Poll(first).IsReady());
  EXPECT_TRUE(party.Poll(second).IsPending());
}

TEST(NotifyTest, WaiterIsPendingWithoutANotification) {
  Notify notify;
  Party party;
  Notify::Notified notified = notify.Wait();
  EXPECT_TRUE(party.Poll(notified).IsPending());
  EXPECT_TRUE(party.Poll(notified).IsPending());
  EXPECT_EQ(party.counter.wakes, 0);
  EXPECT_EQ(party.counter.refs, 2);  // one Waker kept, not one per poll
}

TEST(NotifyTest, NotifyOneWakesOnlyTheOldestWaiter) {
  Notify notify;
  Party first;
  Party second;
  Party third;
  Notify::Notified a = notify.Wait();
  Notify::Notified b = notify.Wait();
  Notify::Notified c = notify.Wait();
  ASSERT_TRUE(first.Poll(a).IsPending());
  ASSERT_TRUE(second.Poll(b).IsPending());
  ASSERT_TRUE(third.Poll(c).IsPending());

  notify.NotifyOne();
  EXPECT_EQ(first.counter.wakes, 1);
  EXPECT_EQ(second.counter.wakes, 0);
  EXPECT_EQ(third.counter.wakes, 0);
  EXPECT_TRUE(first.Poll(a).IsReady());
  EXPECT_TRUE(second.Poll(b).IsPending());
  EXPECT_TRUE(third.Poll(c).IsPending());

  notify.NotifyOne();
  EXPECT_EQ(second.counter.wakes, 1);
  EXPECT_EQ(third.counter.wakes, 0);
  EXPECT_TRUE(second.Poll(b).IsReady());
}

TEST(NotifyTest, NotifyOneWakesTheWakerOfTheLatestPoll) {
  Notify notify;
  Party old_task;
  Party new_task;
  Notify::Notified notified = notify.Wait();
  ASSERT_TRUE(old_task.Poll(notified).IsPending());
  ASSERT_TRUE(new_task.Poll(notified).IsPending());
  EXPECT_EQ(old_task.counter.refs, 1);
  notify.NotifyOne();
  EXPECT_EQ(old_task.counter.wakes, 0);
  EXPECT_EQ(new_task.counter.wakes, 1);
}

TEST(NotifyTest, NotifyAllWakesEveryWaiterAndStoresNoPermit) {
  Notify notify;
  Party first;
  Party second;
  Party later;
  Notify::Notified a = notify.Wait();
  Notify::Notified b = notify.Wait();
  ASSERT_TRUE(first.Poll(a).IsPending());
  ASSERT_TRUE(second.Poll(b).IsPending());

  notify.NotifyAll();
  EXPECT_EQ(first.counter.wakes, 1);
  EXPECT_EQ(second.counter.wakes, 1);
  EXPECT_TRUE(first.Poll(a).IsReady());
  EXPECT_TRUE(second.Poll(b).IsReady());

  Notify::Notified c = notify.Wait();
  EXPECT_TRUE(later.Poll(c).IsPending());
}

TEST(NotifyTest, NotifyAllWithNoWaiterStoresNoPermit) {
  Notify notify;
  notify.NotifyAll();
  Party party;
  Notify::Notified notified = notify.Wait();
  EXPECT_TRUE(party.Poll(notified).IsPending());
}

TEST(NotifyTest, ADroppedChosenWaiterPassesItsNotificationOn) {
  Notify notify;
  Party first;
  Party second;
  Notify::Notified b = notify.Wait();
  {
    Notify::Notified a = notify.Wait();
    ASSERT_TRUE(first.Poll(a).IsPending());
    ASSERT_TRUE(second.Poll(b).IsPending());
    notify.NotifyOne();
    ASSERT_EQ(first.counter.wakes, 1);
  }  // dropped before it saw the notification
  EXPECT_EQ(second.counter.wakes, 1);
  EXPECT_TRUE(second.Poll(b).IsReady());
}

TEST(NotifyTest, ADroppedChosenWaiterWithNoSuccessorLeavesThePermit) {
  Notify notify;
  Party first;
  {
    Notify::Notified a = notify.Wait();
    ASSERT_TRUE(first.Poll(a).IsPending());
    notify.NotifyOne();
  }
  Party later;
  Notify::Notified b = notify.Wait();
  EXPECT_TRUE(later.Poll(b).IsReady());
}

TEST(NotifyTest, AWaiterThatSawItsNotificationPassesNothingOn) {
  Notify notify;
  Party first;
  Party second;
  Notify::Notified b = notify.Wait();
  {
    Notify::Notified a = notify.Wait();
    ASSERT_TRUE(first.Poll(a).IsPending());
    ASSERT_TRUE(second.Poll(b).IsPending());
    notify.NotifyOne();
    ASSERT_TRUE(first.Poll(a).IsReady());
  }
  EXPECT_EQ(second.counter.wakes, 0);
  EXPECT_TRUE(second.Poll(b).IsPending());
}

TEST(NotifyTest, ADroppedUnnotifiedWaiterLeavesTheQueue) {
  Notify notify;
  Party first;
  Party second;
  Notify::Notified b = notify.Wait();
  {
    Notify::Notified a = notify.Wait();
    ASSERT_TRUE(first.Poll(a).IsPending());
    ASSERT_TRUE(second.Poll(b).IsPending());
  }
  EXPECT_EQ(first.counter.refs, 1);  // its Waker was released
  notify.NotifyOne();
  EXPECT_EQ(first.counter.wakes, 0);
  EXPECT_EQ(second.counter.wakes, 1);
}

TEST(NotifyTest, AWaiterNotifiedByAllPassesNothingOnWhenDropped) {
  Notify notify;
  Party first;
  {
    Notify::Notified a = notify.Wait();
    ASSERT_TRUE(first.Poll(a).IsPending());
    notify.NotifyAll();
  }
  Party later;
  Notify::Notified b = notify.Wait();
  EXPECT_TRUE(later.Poll(b).IsPending());
}

TEST(NotifyTest, AMovedWaiterKeepsItsPlaceInTheQueue) {
  Notify notify;
  Party first;
  Party second;
  Party third;
  Notify::Notified a = notify.Wait();
  Notify::Notified b = notify.Wait();
  Notify::Notified c = notify.Wait();
  ASSERT_TRUE(first.Poll(a).IsPending());
  ASSERT_TRUE(second.Poll(b).IsPending());
  ASSERT_TRUE(third.Poll(c).IsPending());
  // Head, middle and tail each move to a new address.
  std::optional<Notify::Notified> moved_a(std::move(a));
  std::optional<Notify::Notified> moved_b(std::move(b));
  std::optional<Notify::Notified> moved_c(std::move(c));

  notify.NotifyOne();
  EXPECT_EQ(first.counter.wakes, 1);
  EXPECT_TRUE(first.Poll(*moved_a).IsReady());
  notify.NotifyOne();
  EXPECT_EQ(second.counter.wakes, 1);
  EXPECT_TRUE(second.Poll(*moved_b).IsReady());
  moved_c.reset();  // leaves the queue: the next notification is a permit
  notify.NotifyOne();
  EXPECT_EQ(third.counter.wakes, 0);
  EXPECT_EQ(third.counter.refs, 1);  // its Waker went with it
  Party later;
  Notify::Notified d = notify.Wait();
  EXPECT_TRUE(later.Poll(d).IsReady());
}

TEST(NotifyTest, AMovedFromWaiterDoesNothingWhenDropped) {
  Notify notify;
  Party party;
  std::optional<Notify::Notified> original(notify.Wait());
  ASSERT_TRUE(party.Poll(*original).IsPending());
  Notify::Notified moved(std::move(*original));
  original.reset();  // must neither unlink nor pass anything on
  notify.NotifyOne();
  EXPECT_EQ(party.counter.wakes, 1);
  EXPECT_TRUE(party.Poll(moved).IsReady());
}

TEST(NotifyTest, AChosenWaiterMovedBeforeItSawTheNotificationStillPassesItOn) {
  Notify notify;
  Party chosen;
  Party next;
  std::optional<Notify::Notified> a(notify.Wait());
  Notify::Notified b = notify.Wait();
  ASSERT_TRUE(chosen.Poll(*a).IsPending());
  ASSERT_TRUE(next.Poll(b).IsPending());
  notify.NotifyOne();
  std::optional<Notify::Notified> moved(std::move(*a));
  a.reset();
  EXPECT_EQ(next.counter.wakes, 0);
  moved.reset();  // chosen, never observed: b gets the notification
  EXPECT_EQ(next.counter.wakes, 1);
  EXPECT_TRUE(next.Poll(b).IsReady());
}

TEST(NotifyTest, BlockOnReturnsOnceAPermitIsStored) {
  Notify notify;
  notify.NotifyOne();
  BlockOn(notify.Wait());
  Party party;
  Notify::Notified after = notify.Wait();
  EXPECT_TRUE(party.Poll(after).IsPending());  // the permit was used up
}

TEST(OneShotTest, DeliversTheSentValue) {
  auto [sender, receiver] = MakeOneShot<int>();
  EXPECT_TRUE(std::move(sender).Send(42).ok());
  absl::StatusOr<int> value = BlockOn(receiver);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 42);
}

TEST(OneShotTest, SendWakesAWaitingReceiver) {
  Party party;
  auto [sender, receiver] = MakeOneShot<int>();
  ASSERT_TRUE(party.Poll(receiver).IsPending());
  EXPECT_TRUE(std::move(sender).Send(7).ok());
  EXPECT_EQ(party.counter.wakes, 1);
  auto poll = party.Poll(receiver);
  ASSERT_TRUE(poll.IsReady());
  ASSERT_TRUE(poll.value().ok());
  EXPECT_EQ(*poll.value(), 7);
}

TEST(OneShotTest, DroppedSenderCancelsTheReceiver) {
  Party party;
  auto [sender, receiver] = MakeOneShot<int>();
  ASSERT_TRUE(party.Poll(receiver).IsPending());
  { auto dropped = std::move(sender); }
  EXPECT_EQ(party.counter.wakes, 1);
  auto poll = party.Poll(receiver);
  ASSERT_TRUE(poll.IsReady());
  EXPECT_EQ(poll.value().status().code(), absl::StatusCode::kCancelled);
}

TEST(OneShotTest, SendFailsOnceTheReceiverIsDropped) {
  auto [sender, receiver] = MakeOneShot<int>();
  { auto dropped = std::move(receiver); }
  absl::Status sent = std::move(sender).Send(1);
  EXPECT_EQ(sent.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(OneShotTest, SecondSendFails) {
  auto [sender, receiver] = MakeOneShot<int>();
  ASSERT_TRUE(std::move(sender).Send(1).ok());
  // NOLINTNEXTLINE(bugprone-use-after-move): a second Send is the point.
  absl::Status again = std::move(sender).Send(2);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*BlockOn(receiver), 1);
}

}  // namespace
}  // namespace corosched
