#include "core/executor.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/examples/hello.h"
#include "core/testing/test_futures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::testing::HasSubstr;
using testing::Tracked;
using testing::WaitForNotify;
using testing::YieldTimes;

std::unique_ptr<Executor> NewExecutor(ExecutorOptions options = {}) {
  if (options.workers == 0) options.workers = 2;
  auto executor = Executor::Create(options);
  EXPECT_TRUE(executor.ok()) << executor.status();
  return std::move(executor).value();
}

TEST(ExecutorTest, RunsTheSeedHelloFuture) {
  auto executor = NewExecutor();
  std::string out;
  auto handle = executor->Spawn(examples::HelloFuture(&out));
  ASSERT_TRUE(handle.ok());
  EXPECT_TRUE(std::move(*handle).Wait().ok());
  EXPECT_EQ(out, "Hello, World!");
}

TEST(ExecutorTest, JoinHandleYieldsTheOutput) {
  auto executor = NewExecutor();
  std::atomic<int> live{0};
  auto handle = executor->Spawn(YieldTimes(3, &live));
  ASSERT_TRUE(handle.ok());
  absl::StatusOr<int> result = std::move(*handle).Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 7);
  EXPECT_EQ(live.load(), 0);
}

// Tasks spawned in a batch all run: the worker woken every 256 spawns and
// at the end finds them, and the woken ones wake the others; none is left
// in the injection queue. 1000 is not a multiple of 256, so the last 232
// rely on the batch's end alone.
TEST(ExecutorTest, EveryTaskSpawnedInABatchRuns) {
  auto executor = NewExecutor();
  std::atomic<int> live{0};
  std::vector<JoinHandle<int>> handles;
  {
    Executor::SpawnBatch batch(*executor);
    for (int i = 0; i < 1000; ++i) {
      auto handle = executor->Spawn(YieldTimes(2, &live));
      ASSERT_TRUE(handle.ok());
      handles.push_back(*std::move(handle));
    }
  }
  for (JoinHandle<int>& handle : handles) {
    absl::StatusOr<int> result = std::move(handle).Wait();
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(*result, 7);
  }
  EXPECT_EQ(live.load(), 0);
  EXPECT_EQ(executor->Stats().injection_queue_depth, 0u);
}

TEST(ExecutorTest, ASpawnBatchOfFewerThanItsStrideRunsAtItsEnd) {
  auto executor = NewExecutor();
  std::atomic<int> live{0};
  absl::StatusOr<JoinHandle<int>> handle = absl::UnknownError("unset");
  {
    Executor::SpawnBatch batch(*executor);
    handle = executor->Spawn(YieldTimes(1, &live));
    ASSERT_TRUE(handle.ok());
  }
  absl::StatusOr<int> result = std::move(*handle).Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(live.load(), 0);
}

// Wakes itself `wakes` times during its first poll.
class WakeManyTimesDuringPoll {
 public:
  using Output = int;
  WakeManyTimesDuringPoll(int wakes, std::atomic<int>* polls)
      : wakes_(wakes), polls_(polls) {}
  corosched::Poll<int> Poll(Context& cx) {
    const int poll = polls_->fetch_add(1) + 1;
    if (poll > 1) return corosched::Poll<int>::Ready(poll);
    for (int i = 0; i < wakes_; ++i) {
      if (i % 2 == 0) {
        cx.waker().WakeByRef();
      } else {
        Waker(cx.waker()).Wake();
      }
    }
    return corosched::Poll<int>::Pending();
  }

 private:
  int wakes_;
  std::atomic<int>* polls_;
};

// A task yielding with nothing else queued on its worker runs again there:
// the other worker is not woken to steal it on every yield.
TEST(ExecutorTest, AYieldWithNothingElseQueuedWakesNoOtherWorker) {
  constexpr int kYields = 2000;
  std::unique_ptr<Executor> executor = *Executor::Create({.workers = 2});
  std::atomic<int> live{0};
  const ExecutorStats before = executor->Stats();
  // Each poll busy for a while, so a worker woken needlessly has time to
  // wake, search and park again.
  auto handle =
      executor->Spawn(YieldTimes(kYields, &live, absl::Microseconds(20)));
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(std::move(*handle).Wait().ok());
  const ExecutorStats after = executor->Stats();
  EXPECT_EQ(after.polls - before.polls, uint64_t{kYields} + 1);
  // Waking the idle worker on each yield made it park (and often steal the
  // task) hundreds of times; without, only the spawn may wake it.
  EXPECT_LT(after.parks - before.parks, 50u);
  EXPECT_LT(after.steals - before.steals, 50u);
}

// Records the thread that polled it.
class RecordThread {
 public:
  using Output = void;
  explicit RecordThread(std::atomic<std::thread::id>* ran) : ran_(ran) {}
  corosched::Poll<void> Poll(Context&) {
    ran_->store(std::this_thread::get_id());
    return corosched::Poll<void>::Ready();
  }

 private:
  std::atomic<std::thread::id>* ran_;
};

// Spawns a RecordThread, then holds its worker until another worker ran it
// (true) or 10 s passed (false). Every millisecond it spawns a no-op: local
// work looks at the idle state without a fence, so a worker parking at the
// moment of the first spawn is woken by a later one.
class HoldWorkerUntilChildRuns {
 public:
  using Output = bool;
  HoldWorkerUntilChildRuns(Spawner spawner, std::atomic<int>* live)
      : spawner_(std::move(spawner)), live_(live) {}
  corosched::Poll<bool> Poll(Context&) {
    std::atomic<std::thread::id> ran{};
    auto child = spawner_.Spawn(RecordThread(&ran));
    if (!child.ok()) return corosched::Poll<bool>::Ready(false);
    for (int i = 0; i < 10000 && ran.load() == std::thread::id(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      auto nudge = spawner_.Spawn(YieldTimes(0, live_));
      if (nudge.ok()) std::move(*nudge).Detach();
    }
    const std::thread::id child_thread = ran.load();
    std::move(*child).Detach();
    return corosched::Poll<bool>::Ready(child_thread != std::thread::id() &&
                                        child_thread !=
                                            std::this_thread::get_id());
  }

 private:
  Spawner spawner_;
  std::atomic<int>* live_;
};

// Work queued inside a task still reaches a parked worker: the parallelism
// the fence-free look (Scheduler::NotifyParkedForLocalWork) must keep.
TEST(ExecutorTest, WorkQueuedInsideATaskWakesAParkedWorker) {
  std::atomic<int> live{0};
  auto executor = NewExecutor();
  auto handle =
      executor->Spawn(HoldWorkerUntilChildRuns(executor->spawner(), &live));
  ASSERT_TRUE(handle.ok());
  EXPECT_TRUE(std::move(*handle).Wait().value());
}

// Holds its worker until `peers` tasks of its kind have started (true), or
// 10 s passed (false): only tasks running at once on different workers
// can all get past it.
class WaitForPeers {
 public:
  using Output = bool;
  WaitForPeers(std::atomic<int>* started, int peers)
      : started_(started), peers_(peers) {}
  corosched::Poll<bool> Poll(Context&) {
    started_->fetch_add(1);
    for (int i = 0; i < 10000 && started_->load() < peers_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return corosched::Poll<bool>::Ready(started_->load() >= peers_);
  }

 private:
  std::atomic<int>* started_;
  int peers_;
};

// Two tasks queued from outside at once, on an idle executor, both run at
// once: the worker woken for the first (the last searcher) takes it and,
// seeing the second still queued, wakes the other worker before it runs.
// Only that worker can take the second, since the first holds its own.
TEST(ExecutorTest, TasksQueuedTogetherFromOutsideRunInParallel) {
  auto executor = NewExecutor({.workers = 2});
  for (int round = 0; round < 20; ++round) {
    absl::SleepFor(absl::Milliseconds(2));  // both workers park
    std::atomic<int> started{0};
    auto first = executor->Spawn(WaitForPeers(&started, 2));
    auto second = executor->Spawn(WaitForPeers(&started, 2));
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(std::move(*first).Wait().value()) << "round " << round;
    EXPECT_TRUE(std::move(*second).Wait().value()) << "round " << round;
  }
}

TEST(ExecutorTest, WakesDuringAPollCauseExactlyOneMorePoll) {
  auto executor = NewExecutor();
  std::atomic<int> polls{0};
  auto handle = executor->Spawn(WakeManyTimesDuringPoll(10, &polls));
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ(std::move(*handle).Wait().value(), 2);
  EXPECT_EQ(polls.load(), 2);
}

// Hands its waker to the test, then stays Pending until `done` is set.
struct WakerSlot {
  absl::Mutex mu;
  Waker waker ABSL_GUARDED_BY(mu);
  std::atomic<bool> done{false};
  std::atomic<int> polls{0};
};

class ParkUntilDone {
 public:
  using Output = void;
  explicit ParkUntilDone(WakerSlot* slot) : slot_(slot) {}
  corosched::Poll<void> Poll(Context& cx) {
    slot_->polls.fetch_add(1);
    if (slot_->done.load()) return corosched::Poll<void>::Ready();
    absl::MutexLock lock(&slot_->mu);
    slot_->waker = cx.waker();
    return corosched::Poll<void>::Pending();
  }

 private:
  WakerSlot* slot_;
};

TEST(ExecutorTest, WakeFromAnotherThreadIsNotLost) {
  auto executor = NewExecutor();
  WakerSlot slot;
  auto handle = executor->Spawn(ParkUntilDone(&slot));
  ASSERT_TRUE(handle.ok());
  std::thread waker_thread([&] {
    for (;;) {
      absl::MutexLock lock(&slot.mu);
      if (!slot.waker.empty()) break;
    }
    slot.done.store(true);
    absl::MutexLock lock(&slot.mu);
    slot.waker.WakeByRef();
  });
  EXPECT_TRUE(std::move(*handle).Wait().ok());
  waker_thread.join();
}

TEST(ExecutorTest, WakeAfterCompletionDoesNothing) {
  auto executor = NewExecutor();
  WakerSlot slot;
  auto handle = executor->Spawn(ParkUntilDone(&slot));
  ASSERT_TRUE(handle.ok());
  while (slot.polls.load() == 0) std::this_thread::yield();
  slot.done.store(true);
  Waker kept;
  {
    absl::MutexLock lock(&slot.mu);
    kept = slot.waker;  // a second reference, outliving the task's end
    slot.waker.WakeByRef();
  }
  EXPECT_TRUE(std::move(*handle).Wait().ok());
  const int polls = slot.polls.load();
  for (int i = 0; i < 100; ++i) kept.WakeByRef();
  Waker(kept).Wake();
  executor->Shutdown(ShutdownMode::kDrain);
  EXPECT_EQ(slot.polls.load(), polls);
  // `kept` still refers to the finished task; destroying it last frees it
  // (AddressSanitizer checks that nothing touched it after).
}

TEST(ExecutorTest, AdmissionBoundRefusesInsteadOfBlocking) {
  auto executor = NewExecutor({.workers = 2, .max_tasks = 2});
  // One Notify per task: with one shared, NotifyOne wakes whichever task
  // registered first, which the two workers decide (a TSan run hung here
  // waiting for `first` after `second` had been woken).
  Notify notify_first;
  Notify notify_second;
  std::atomic<int> live{0};
  auto first = executor->Spawn(WaitForNotify(&notify_first, &live));
  auto second = executor->Spawn(WaitForNotify(&notify_second, &live));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  auto third = executor->Spawn(WaitForNotify(&notify_first, &live));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.status().message(), HasSubstr("admission bound of 2"));
  EXPECT_EQ(executor->Stats().live_tasks, 2u);

  // Waking admitted tasks works while the bound is reached.
  notify_first.NotifyOne();
  EXPECT_TRUE(std::move(*first).Wait().ok());
  auto fourth = executor->Spawn(YieldTimes(1, &live));
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  EXPECT_TRUE(std::move(*fourth).Wait().ok());
  notify_second.NotifyOne();
  EXPECT_TRUE(std::move(*second).Wait().ok());
  EXPECT_EQ(executor->Stats().live_tasks, 0u);
}

TEST(ExecutorTest, CancelDropsAPendingTaskAndYieldsCancelled) {
  auto executor = NewExecutor();
  Notify notify;
  std::atomic<int> live{0};
  auto handle = executor->Spawn(WaitForNotify(&notify, &live));
  ASSERT_TRUE(handle.ok());
  handle->Cancel();
  handle->Cancel();  // idempotent
  absl::Status result = std::move(*handle).Wait();
  EXPECT_EQ(result.code(), absl::StatusCode::kCancelled);
  executor->Shutdown(ShutdownMode::kDrain);
  EXPECT_EQ(live.load(), 0);
}

TEST(ExecutorTest, CancelAfterCompletionKeepsTheResult) {
  auto executor = NewExecutor();
  std::atomic<int> live{0};
  auto handle = executor->Spawn(YieldTimes(0, &live));
  ASSERT_TRUE(handle.ok());
  while (executor->Stats().live_tasks != 0) std::this_thread::yield();
  handle->Cancel();
  EXPECT_EQ(std::move(*handle).Wait().value(), 7);
}

TEST(ExecutorTest, DetachedTaskRunsToCompletion) {
  auto executor = NewExecutor();
  auto [sender, receiver] = MakeOneShot<int>();
  auto handle = executor->Spawn([](OneShotSender<int> tx) -> Co<void> {
    co_await examples::YieldNow();
    (void)std::move(tx).Send(42);
  }(std::move(sender)));
  ASSERT_TRUE(handle.ok());
  std::move(*handle).Detach();
  EXPECT_EQ(BlockOn(receiver).value(), 42);
}

Co<int> SumOfChildren(Spawner spawner, int children) {
  std::vector<JoinHandle<int>> handles;
  std::atomic<int> live{0};
  for (int i = 0; i < children; ++i) {
    auto handle = spawner.Spawn(YieldTimes(i % 3, &live));
    if (!handle.ok()) co_return -1;
    handles.push_back(std::move(*handle));
  }
  int sum = 0;
  for (auto& handle : handles) sum += (co_await handle).value();
  co_return sum;
}

TEST(ExecutorTest, TasksSpawnAndAwaitChildren) {
  auto executor = NewExecutor();
  auto handle = executor->Spawn(SumOfChildren(executor->spawner(), 100));
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ(std::move(*handle).Wait().value(), 700);
}

TEST(ExecutorTest, WaitOnAWorkerThreadIsRefused) {
  auto executor = NewExecutor();
  std::atomic<int> live{0};  // outlives every task: the executor stops first
  auto outer = executor->Spawn(
      [](Spawner spawner, std::atomic<int>* inner_live) -> Co<absl::Status> {
        auto inner = spawner.Spawn(YieldTimes(1, inner_live));
        absl::Status status = std::move(*inner).Wait().status();
        co_return status;
      }(executor->spawner(), &live));
  ASSERT_TRUE(outer.ok());
  absl::StatusOr<absl::Status> result = std::move(*outer).Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->code(), absl::StatusCode::kFailedPrecondition);
  executor->Shutdown(ShutdownMode::kDrain);
  EXPECT_EQ(live.load(), 0);
}

TEST(ExecutorTest, SpawnerOutlivesTheExecutorSafely) {
  auto executor = NewExecutor();
  Spawner spawner = executor->spawner();
  std::atomic<int> live{0};
  auto handle = spawner.Spawn(YieldTimes(2, &live));
  ASSERT_TRUE(handle.ok());
  EXPECT_TRUE(std::move(*handle).Wait().ok());
  executor.reset();
  auto late = spawner.Spawn(YieldTimes(2, &live));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(live.load(), 0);
}

// Ready at its first poll; counts polls.
class CountPolls {
 public:
  using Output = void;
  explicit CountPolls(std::atomic<int>* polls) : polls_(polls) {}
  corosched::Poll<void> Poll(Context&) {
    polls_->fetch_add(1);
    return corosched::Poll<void>::Ready();
  }

 private:
  std::atomic<int>* polls_;
};

TEST(ExecutorTest, DelayedStartWaitsForTheClock) {
  ManualClock clock;
  auto executor = NewExecutor({.workers = 2, .clock = &clock});
  std::atomic<int> polls{0};
  auto handle =
      executor->SpawnAt(clock.Now() + absl::Seconds(5), CountPolls(&polls));
  ASSERT_TRUE(handle.ok());
  while (executor->timers().NumPending() == 0) std::this_thread::yield();
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(polls.load(), 0);
  EXPECT_EQ(executor->timers().NumPending(), 1u);
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(std::move(*handle).Wait().ok());
  EXPECT_EQ(polls.load(), 1);
}

TEST(ExecutorTest, TimeoutYieldsDeadlineExceeded) {
  ManualClock clock;
  auto executor = NewExecutor({.workers = 2, .clock = &clock});
  Notify notify;
  std::atomic<int> live{0};
  auto handle = executor->Spawn(
      executor->WithTimeout(WaitForNotify(&notify, &live), absl::Seconds(1)));
  ASSERT_TRUE(handle.ok());
  while (executor->timers().NumPending() == 0) std::this_thread::yield();
  clock.Advance(absl::Seconds(1));
  absl::StatusOr<absl::Status> result = std::move(*handle).Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(live.load(), 0);
}

TEST(ExecutorTest, TimeoutPassesTheOutputWhenInTime) {
  ManualClock clock;
  auto executor = NewExecutor({.workers = 2, .clock = &clock});
  std::atomic<int> live{0};
  auto handle = executor->Spawn(
      executor->WithTimeout(YieldTimes(3, &live), absl::Seconds(1)));
  ASSERT_TRUE(handle.ok());
  absl::StatusOr<absl::StatusOr<int>> result = std::move(*handle).Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->value(), 7);
}

class RecordingObserver final : public ExecutorObserver {
 public:
  void OnPollSampled(int worker, absl::Duration schedule_delay,
                     absl::Duration poll_duration) override {
    EXPECT_GE(worker, 0);
    EXPECT_LT(worker, 2);
    EXPECT_GE(schedule_delay, absl::ZeroDuration());
    EXPECT_GE(poll_duration, absl::ZeroDuration());
    samples_.fetch_add(1);
  }
  int samples() const { return samples_.load(); }

 private:
  std::atomic<int> samples_{0};
};

TEST(ExecutorTest, ObserverReceivesSampledPolls) {
  RecordingObserver observer;
  auto executor = NewExecutor({.workers = 2, .observer = &observer});
  std::atomic<int> live{0};
  auto handle = executor->Spawn(YieldTimes(1000, &live));
  ASSERT_TRUE(handle.ok());
  EXPECT_TRUE(std::move(*handle).Wait().ok());
  executor->Shutdown(ShutdownMode::kDrain);
  // 1001 polls, one wake in 64 sampled: at least a few samples, never more
  // than the polls.
  EXPECT_GE(observer.samples(), 5);
  EXPECT_LE(observer.samples(), 1001);
  EXPECT_GE(executor->Stats().polls, 1001u);
}

TEST(ExecutorTest, StatsCountTimersThatWokeTheirTask) {
  ManualClock clock;
  auto executor = NewExecutor({.workers = 2, .clock = &clock});
  std::atomic<int> live{0};
  auto yields = executor->Spawn(YieldTimes(100, &live));
  ASSERT_TRUE(yields.ok());
  EXPECT_TRUE(std::move(*yields).Wait().ok());
  EXPECT_EQ(executor->Stats().timer_wakes, 0u);  // self-wakes are not timers

  std::atomic<int> polls{0};
  auto delayed =
      executor->SpawnAt(clock.Now() + absl::Seconds(5), CountPolls(&polls));
  ASSERT_TRUE(delayed.ok());
  while (executor->timers().NumPending() == 0) std::this_thread::yield();
  clock.Advance(absl::Seconds(5));
  EXPECT_TRUE(std::move(*delayed).Wait().ok());
  EXPECT_EQ(executor->Stats().timer_wakes, 1u);
}

TEST(ExecutorTest, CreateRejectsBadOptions) {
  EXPECT_EQ(Executor::Create({.workers = -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Executor::Create({.workers = 1, .max_tasks = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace corosched
