#include "server/cluster/inbox_dispatcher.h"

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/cluster/cluster_test_daemon.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

// WAIT takes `start`; only then GO takes `go`. A `go` sent first is kept
// in the mailbox, so a test can count how often it arrived.
v1::TaskDefinition StartThenGoDefinition() {
  v1::TaskDefinition definition;
  definition.set_name("start-then-go");
  definition.set_initial("WAIT");
  auto& states = *definition.mutable_states();
  (*states["WAIT"].mutable_await()->mutable_signals())["start"] = "GO";
  (*states["GO"].mutable_await()->mutable_signals())["go"] = "DONE";
  states["DONE"].mutable_complete()->set_result("went");
  return definition;
}

class InboxDispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    owner_.Join();
    other_.Join();
    // The first sweep is due at once; take it, so that only notifications
    // deliver until the test moves the clock.
    owner_.node->keeper().DeliverInboxes();
  }

  ManualClock clock_;
  FakeClusterDatabase database_{clock_};
  TestDaemon owner_{database_, clock_};
  TestDaemon other_{database_, clock_};
};

TEST_F(InboxDispatcherTest, AWakeOnAnotherDaemonReachesTheTaskThroughItsOwner) {
  ASSERT_TRUE(owner_.Submit("t").ok());
  ASSERT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_AWAITING; }));

  absl::StatusOr<v1::WakeTaskResponse> queued = other_.Wake("t", "go", "r1");
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_EQ(queued->disposition(), v1::WakeTaskResponse::BUFFERED);
  EXPECT_EQ(queued->sequence(), 0u);
  EXPECT_FALSE(queued->duplicate());
  EXPECT_EQ(database_.InboxSize(), 1u);
  EXPECT_EQ(owner_.Status("t"), v1::TASK_STATUS_AWAITING);

  owner_.node->keeper().DeliverInboxes();  // the notification's delivery
  EXPECT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_COMPLETED; }));
  EXPECT_TRUE(Eventually([&] { return database_.InboxSize() == 0; }));
  EXPECT_EQ(
      MetricValue(owner_.metrics, "corosched_cluster_inbox_delivered_total"),
      1);

  // The repeat gets the owner's own answer to that request id.
  absl::StatusOr<v1::WakeTaskResponse> repeat = other_.Wake("t", "go", "r1");
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->duplicate());
  EXPECT_EQ(repeat->disposition(), v1::WakeTaskResponse::CONSUMED);
  EXPECT_EQ(repeat->sequence(), 1u);
}

TEST_F(InboxDispatcherTest, ARemoteWakeAnswersWithTheOwnersReceiptIfItComes) {
  ASSERT_TRUE(owner_.Submit("t").ok());
  ASSERT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_AWAITING; }));
  std::thread owner_runs([&] {
    ASSERT_TRUE(Eventually([&] { return database_.InboxSize() == 1; }));
    owner_.node->keeper().DeliverInboxes();
  });
  absl::StatusOr<v1::WakeTaskResponse> woken = other_.Wake("t", "go", "");
  owner_runs.join();
  ASSERT_TRUE(woken.ok()) << woken.status();
  EXPECT_EQ(woken->disposition(), v1::WakeTaskResponse::CONSUMED);
  EXPECT_EQ(woken->sequence(), 1u);
  EXPECT_FALSE(woken->duplicate());
}

TEST_F(InboxDispatcherTest, AMessageAppliedTwiceDeliversItsSignalOnce) {
  ASSERT_TRUE(owner_.Submit("t", StartThenGoDefinition()).ok());
  ASSERT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_AWAITING; }));
  // Without a request id: the owner delivers it as "inbox:<id>".
  ASSERT_TRUE(other_.Wake("t", "go", "").ok());
  // The first delete is lost (say, with the connection): the message is
  // read and applied again.
  owner_.store.FailInboxDeletes(1);
  owner_.node->keeper().DeliverInboxes();
  ASSERT_TRUE(Eventually([&] {
    return owner_.store.GetTask(Key("t"))->snapshot.mailbox_size() == 1;
  }));
  EXPECT_EQ(database_.InboxSize(), 1u);
  ASSERT_TRUE(owner_.node->inbox().DeliverAll().ok());
  EXPECT_TRUE(Eventually([&] { return database_.InboxSize() == 0; }));
  EXPECT_EQ(owner_.store.GetTask(Key("t"))->snapshot.mailbox_size(), 1);
}

TEST_F(InboxDispatcherTest, ARemoteWakeIsRefusedAsTheOwnerWouldRefuseIt) {
  ASSERT_TRUE(owner_.Submit("t").ok());
  ASSERT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_AWAITING; }));

  absl::StatusOr<v1::WakeTaskResponse> unknown_signal =
      other_.Wake("t", "stop", "");
  EXPECT_EQ(unknown_signal.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown_signal.status().message(), HasSubstr("awaits go"));
  EXPECT_EQ(other_.Wake("nobody", "go", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(database_.InboxSize(), 0u);

  ASSERT_TRUE(owner_.Wake("t", "go", "").ok());
  ASSERT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_COMPLETED; }));
  EXPECT_EQ(other_.Wake("t", "go", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(database_.InboxSize(), 0u);
}

TEST_F(InboxDispatcherTest, ARemoteCancelAnswersOnceTheOwnerRecordedIt) {
  ASSERT_TRUE(owner_.Submit("t").ok());
  ASSERT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_AWAITING; }));
  std::thread owner_runs([&] {
    ASSERT_TRUE(Eventually([&] { return database_.InboxSize() == 1; }));
    owner_.node->keeper().DeliverInboxes();
  });
  absl::StatusOr<v1::Task> cancelled = other_.Cancel("t");
  owner_runs.join();
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->status(), v1::TASK_STATUS_CANCELLED);
  EXPECT_TRUE(Eventually([&] { return database_.InboxSize() == 0; }));
  // An ended task's cancel is answered with it, from any daemon.
  absl::StatusOr<v1::Task> again = other_.Cancel("t");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->status(), v1::TASK_STATUS_CANCELLED);
}

TEST_F(InboxDispatcherTest, AMessageWhoseNotificationWasLostIsFoundBySweep) {
  ASSERT_TRUE(owner_.Submit("t").ok());
  ASSERT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_AWAITING; }));
  owner_.store.DropNotifications(true);
  ASSERT_TRUE(other_.Wake("t", "go", "r1").ok());
  owner_.node->keeper().DeliverInboxes();
  EXPECT_EQ(database_.InboxSize(), 1u);
  EXPECT_EQ(owner_.Status("t"), v1::TASK_STATUS_AWAITING);

  clock_.Advance(TestLeaseOptions().inbox_sweep_interval);
  owner_.node->keeper().DeliverInboxes();
  EXPECT_TRUE(Eventually(
      [&] { return owner_.Status("t") == v1::TASK_STATUS_COMPLETED; }));
}

TEST(InboxDispatcherAnswersTest, KeepsAMessageUntilItsCallAnswersForGood) {
  EXPECT_TRUE(InboxDispatcher::IsFinalAnswer(absl::OkStatus()));
  EXPECT_TRUE(InboxDispatcher::IsFinalAnswer(
      absl::FailedPreconditionError("task \"t\" has ended")));
  EXPECT_TRUE(
      InboxDispatcher::IsFinalAnswer(absl::InvalidArgumentError("signal")));
  EXPECT_FALSE(InboxDispatcher::IsFinalAnswer(absl::UnavailableError("down")));
  EXPECT_FALSE(InboxDispatcher::IsFinalAnswer(LeaseLostError("t")));
}

}  // namespace
}  // namespace corosched::server
