#include "core/sync/channel.h"

#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/coro/co.h"
#include "core/executor.h"
#include "core/task/block_on.h"
#include "core/task/waker.h"
#include "core/testing/wake_counter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

using ::corosched::testing::Party;
using ::corosched::testing::WakeCounter;

std::vector<int> ReceiveAll(ChannelReceiver<int>& receiver) {
  std::vector<int> out;
  while (std::optional<int> value = BlockOn(receiver.Recv())) {
    out.push_back(*value);
  }
  return out;
}

TEST(ChannelTest, DeliversValuesInOrder) {
  auto [sender, receiver] = MakeChannel<int>(4);
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(BlockOn(sender.Send(i)).ok());
  { auto dropped = std::move(sender); }
  EXPECT_THAT(ReceiveAll(receiver), ElementsAre(1, 2, 3, 4));
}

TEST(ChannelTest, SendIsPendingWhileFullAndWokenWhenSpaceFrees) {
  Party sending;
  Party receiving;
  auto [sender, receiver] = MakeChannel<int>(1);
  auto first = sender.Send(1);
  auto second = sender.Send(2);
  ASSERT_TRUE(sending.Poll(first).IsReady());
  EXPECT_TRUE(sending.Poll(second).IsPending());
  EXPECT_EQ(sending.counter.wakes, 0);

  auto recv = receiver.Recv();
  auto got = receiving.Poll(recv);
  ASSERT_TRUE(got.IsReady());
  EXPECT_THAT(got.value(), Optional(1));
  EXPECT_EQ(sending.counter.wakes, 1);

  auto sent = sending.Poll(second);
  ASSERT_TRUE(sent.IsReady());
  EXPECT_TRUE(sent.value().ok());
  auto recv2 = receiver.Recv();
  got = receiving.Poll(recv2);
  ASSERT_TRUE(got.IsReady());
  EXPECT_THAT(got.value(), Optional(2));
}

TEST(ChannelTest, ZeroCapacityStillBuffersOneValue) {
  Party sending;
  auto [sender, receiver] = MakeChannel<int>(0);
  auto first = sender.Send(1);
  auto second = sender.Send(2);
  EXPECT_TRUE(sending.Poll(first).IsReady());
  EXPECT_TRUE(sending.Poll(second).IsPending());
}

TEST(ChannelTest, RecvIsPendingUntilASendWakesIt) {
  Party receiving;
  auto [sender, receiver] = MakeChannel<int>(2);
  auto recv = receiver.Recv();
  ASSERT_TRUE(receiving.Poll(recv).IsPending());
  ASSERT_TRUE(BlockOn(sender.Send(9)).ok());
  EXPECT_EQ(receiving.counter.wakes, 1);
  auto got = receiving.Poll(recv);
  ASSERT_TRUE(got.IsReady());
  EXPECT_THAT(got.value(), Optional(9));
}

TEST(ChannelTest, RecvDrainsTheBufferThenYieldsNulloptOnceAllSendersAreGone) {
  auto [sender, receiver] = MakeChannel<int>(4);
  {
    ChannelSender<int> copy = sender;
    ASSERT_TRUE(BlockOn(sender.Send(1)).ok());
    ASSERT_TRUE(BlockOn(copy.Send(2)).ok());
    auto dropped = std::move(sender);
  }
  EXPECT_THAT(BlockOn(receiver.Recv()), Optional(1));
  EXPECT_THAT(BlockOn(receiver.Recv()), Optional(2));
  EXPECT_EQ(BlockOn(receiver.Recv()), std::nullopt);
}

TEST(ChannelTest, RecvWaitsWhileAnySenderRemains) {
  Party receiving;
  auto [sender, receiver] = MakeChannel<int>(4);
  ChannelSender<int> copy = sender;
  auto recv = receiver.Recv();
  ASSERT_TRUE(receiving.Poll(recv).IsPending());
  { auto dropped = std::move(sender); }
  EXPECT_EQ(receiving.counter.wakes, 0);
  EXPECT_TRUE(receiving.Poll(recv).IsPending());

  { auto dropped = std::move(copy); }
  EXPECT_EQ(receiving.counter.wakes, 1);
  auto got = receiving.Poll(recv);
  ASSERT_TRUE(got.IsReady());
  EXPECT_EQ(got.value(), std::nullopt);
}

TEST(ChannelTest, SendFailsOnceTheReceiverIsDropped) {
  auto [sender, receiver] = MakeChannel<int>(4);
  { auto dropped = std::move(receiver); }
  absl::Status sent = BlockOn(sender.Send(1));
  EXPECT_EQ(sent.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ChannelTest, ABlockedSendIsWokenAndFailsWhenTheReceiverIsDropped) {
  Party sending;
  auto [sender, receiver] = MakeChannel<int>(1);
  auto first = sender.Send(1);
  auto second = sender.Send(2);
  ASSERT_TRUE(sending.Poll(first).IsReady());
  ASSERT_TRUE(sending.Poll(second).IsPending());
  { auto dropped = std::move(receiver); }
  EXPECT_EQ(sending.counter.wakes, 1);
  auto sent = sending.Poll(second);
  ASSERT_TRUE(sent.IsReady());
  EXPECT_EQ(sent.value().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ChannelTest, CarriesValuesInOrderBetweenPlainThreads) {
  constexpr int kCount = 1000;
  auto [sender, receiver] = MakeChannel<int>(2);
  absl::Status producer_status;
  std::thread producer([&producer_status, tx = std::move(sender)] {
    for (int i = 0; i < kCount; ++i) {
      producer_status = BlockOn(tx.Send(i));
      if (!producer_status.ok()) return;
    }
  });
  std::vector<int> received = ReceiveAll(receiver);
  producer.join();
  EXPECT_TRUE(producer_status.ok()) << producer_status;
  ASSERT_EQ(received.size(), size_t{kCount});
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(received[i], i);
}

Co<absl::Status> Produce(ChannelSender<int> sender, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    absl::Status sent = co_await sender.Send(i);
    if (!sent.ok()) co_return sent;
  }
  co_return absl::OkStatus();
}

TEST(ChannelTest, CarriesValuesFromTasksToAPlainThread) {
  auto executor = Executor::Create({.workers = 2}).value();
  auto [sender, receiver] = MakeChannel<int>(3);
  auto low = executor->Spawn(Produce(sender, 0, 100)).value();
  auto high = executor->Spawn(Produce(std::move(sender), 1000, 100)).value();

  std::vector<int> from_low;
  std::vector<int> from_high;
  while (std::optional<int> value = BlockOn(receiver.Recv())) {
    (*value < 1000 ? from_low : from_high).push_back(*value);
  }
  absl::StatusOr<absl::Status> low_done = std::move(low).Wait();
  absl::StatusOr<absl::Status> high_done = std::move(high).Wait();
  ASSERT_TRUE(low_done.ok() && high_done.ok());
  EXPECT_TRUE(low_done->ok());
  EXPECT_TRUE(high_done->ok());
  // Each sender's values arrive in the order it sent them.
  ASSERT_EQ(from_low.size(), 100u);
  ASSERT_EQ(from_high.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(from_low[i], i);
    ASSERT_EQ(from_high[i], 1000 + i);
  }
}

}  // namespace
}  // namespace corosched
