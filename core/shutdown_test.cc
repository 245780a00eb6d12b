#include <atomic>
#include <thread>
#include <vector>

#include "core/executor.h"
#include "core/testing/test_futures.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using testing::WaitForNotify;
using testing::YieldTimes;

std::unique_ptr<Executor> NewExecutor() {
  return Executor::Create({.workers = 2}).value();
}

TEST(ExecutorShutdownTest, DrainLetsUnfinishedTasksComplete) {
  auto executor = NewExecutor();
  std::atomic<int> live{0};
  std::vector<JoinHandle<int>> handles;
  handles.reserve(100);
  for (int i = 0; i < 100; ++i) {
    handles.push_back(executor->Spawn(YieldTimes(200, &live)).value());
  }
  executor->Shutdown(ShutdownMode::kDrain);
  for (auto& handle : handles) EXPECT_EQ(std::move(handle).Wait().value(), 7);
  EXPECT_EQ(live.load(), 0);
}

TEST(ExecutorShutdownTest, DrainTimeoutCancelsTasksThatNeverFinish) {
  auto executor = NewExecutor();
  Notify never;
  std::atomic<int> live{0};
  auto stuck = executor->Spawn(WaitForNotify(&never, &live)).value();
  auto quick = executor->Spawn(YieldTimes(5, &live)).value();
  executor->Shutdown(ShutdownMode::kDrain, absl::Milliseconds(20));
  EXPECT_EQ(std::move(quick).Wait().value(), 7);
  EXPECT_EQ(std::move(stuck).Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(live.load(), 0);
}

TEST(ExecutorShutdownTest, CancelDropsParkedTasksAndFreesTheirFutures) {
  auto executor = NewExecutor();
  Notify never;
  std::atomic<int> live{0};
  std::vector<JoinHandle<void>> handles;
  handles.reserve(50);
  for (int i = 0; i < 50; ++i) {
    handles.push_back(executor->Spawn(WaitForNotify(&never, &live)).value());
  }
  executor->Shutdown(ShutdownMode::kCancel);
  EXPECT_EQ(live.load(), 0);
  for (auto& handle : handles) {
    EXPECT_EQ(std::move(handle).Wait().code(), absl::StatusCode::kCancelled);
  }
}

TEST(ExecutorShutdownTest, SpawnAfterShutdownFailsClearly) {
  auto executor = NewExecutor();
  executor->Shutdown(ShutdownMode::kDrain);
  std::atomic<int> live{0};
  auto handle = executor->Spawn(YieldTimes(1, &live));
  ASSERT_FALSE(handle.ok());
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(live.load(), 0);
  EXPECT_EQ(executor->Stats().live_tasks, 0u);
}

TEST(ExecutorShutdownTest, ShutdownIsIdempotentAndJoinsEveryThread) {
  auto executor = NewExecutor();
  executor->Shutdown(ShutdownMode::kCancel);
  executor->Shutdown(ShutdownMode::kDrain);
  executor.reset();  // the destructor's shutdown is a no-op now
}

TEST(ExecutorShutdownTest, WakersOutliveTheExecutor) {
  Notify never;
  Waker kept;
  {
    auto executor = NewExecutor();
    auto handle = executor->Spawn([](Waker* out, Notify* notify) -> Co<void> {
      struct CaptureWaker {
        using Output = void;
        Waker* out;
        corosched::Poll<void> Poll(Context& cx) {
          *out = cx.waker();
          return corosched::Poll<void>::Ready();
        }
      };
      co_await CaptureWaker{out};
      co_await notify->Wait();
    }(&kept, &never));
    ASSERT_TRUE(handle.ok());
    while (executor->Stats().polls == 0) std::this_thread::yield();
    executor->Shutdown(ShutdownMode::kCancel);
    EXPECT_EQ(std::move(*handle).Wait().code(), absl::StatusCode::kCancelled);
  }
  kept.WakeByRef();  // the task ended: a no-op, not a use after free
  std::move(kept).Wake();
}

}  // namespace
}  // namespace corosched
