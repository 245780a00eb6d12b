#include "core/coro/co.h"

#include <atomic>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/executor.h"
#include "core/sync/notify.h"
#include "core/sync/oneshot.h"
#include "core/task/block_on.h"
#include "core/task/join_handle.h"
#include "core/time/clock.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

// Polls `inner` and, the first time it returns Pending, signals `suspended`:
// by then `inner` has registered its Waker, so the test knows the task is
// parked in this co_await without sleeping to find out.
template <Future F>
class SignalWhenPending {
 public:
  using Output = typename F::Output;

  SignalWhenPending(F inner, absl::Notification* suspended)
      : inner_(std::move(inner)), suspended_(suspended) {}

  corosched::Poll<Output> Poll(Context& cx) {
    auto poll = inner_.Poll(cx);
    if (poll.IsPending() && !suspended_->HasBeenNotified()) {
      suspended_->Notify();
    }
    return poll;
  }

 private:
  F inner_;
  absl::Notification* suspended_;
};

// Counts its own destructions: a local in a coroutine frame tells how many
// times the frame was destroyed.
class DestructionCounter {
 public:
  explicit DestructionCounter(std::atomic<int>* count) : count_(count) {}
  DestructionCounter(const DestructionCounter&) = delete;
  DestructionCounter& operator=(const DestructionCounter&) = delete;
  ~DestructionCounter() { count_->fetch_add(1); }

 private:
  std::atomic<int>* count_;
};

// A future that is Ready on every poll with how often it was polled.
class PollCounter {
 public:
  using Output = int;
  corosched::Poll<int> Poll(Context&) {
    return corosched::Poll<int>::Ready(++polls_);
  }
  int polls() const { return polls_; }

 private:
  int polls_ = 0;
};

// An executor whose timers move only when the test advances the clock.
class CoOnExecutorTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  std::unique_ptr<Executor> executor_ =
      Executor::Create({.workers = 2, .clock = &clock_}).value();
};

Co<int> Answer() { co_return 42; }

TEST(CoTest, ReturnsItsValueOnAPlainThread) {
  EXPECT_EQ(BlockOn(Answer()), 42);
}

Co<void> Record(bool* ran) {
  *ran = true;
  co_return;
}

TEST(CoTest, RunsNothingUntilFirstPolled) {
  bool ran = false;
  Co<void> co = Record(&ran);
  EXPECT_FALSE(ran);
  BlockOn(co);
  EXPECT_TRUE(ran);
}

TEST_F(CoOnExecutorTest, ReturnsItsValueThroughTheJoinHandle) {
  absl::StatusOr<int> result =
      std::move(executor_->Spawn(Answer()).value()).Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 42);
}

Co<int> SleepThenAnswer(Sleep sleep, absl::Notification* suspended) {
  co_await SignalWhenPending(std::move(sleep), suspended);
  co_return 7;
}

TEST_F(CoOnExecutorTest, AwaitsASleepUntilTheClockReachesItsDeadline) {
  absl::Notification suspended;
  auto handle = executor_
                    ->Spawn(SleepThenAnswer(
                        executor_->SleepFor(absl::Seconds(10)), &suspended))
                    .value();
  suspended.WaitForNotification();
  EXPECT_EQ(executor_->timers().NumPending(), 1u);

  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(executor_->timers().NumPending(), 1u);  // not due: not fired

  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(executor_->timers().NumPending(), 0u);
  absl::StatusOr<int> result = std::move(handle).Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 7);
}

Co<int> Receive(OneShotReceiver<int> receiver, absl::Notification* suspended) {
  absl::StatusOr<int> value =
      co_await SignalWhenPending(std::move(receiver), suspended);
  co_return value.ok() ? *value : -1;
}

TEST_F(CoOnExecutorTest, AwaitsAOneShotReceiver) {
  auto [sender, receiver] = MakeOneShot<int>();
  absl::Notification suspended;
  auto handle =
      executor_->Spawn(Receive(std::move(receiver), &suspended)).value();
  suspended.WaitForNotification();
  ASSERT_TRUE(std::move(sender).Send(5).ok());
  absl::StatusOr<int> result = std::move(handle).Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 5);
}

Co<int> AwaitOther(JoinHandle<int> other) {
  absl::StatusOr<int> value = co_await std::move(other);
  co_return value.ok() ? *value * 2 : -1;
}

TEST_F(CoOnExecutorTest, AwaitsTheJoinHandleOfAnotherTask) {
  auto [sender, receiver] = MakeOneShot<int>();
  absl::Notification suspended;
  auto inner =
      executor_->Spawn(Receive(std::move(receiver), &suspended)).value();
  auto outer = executor_->Spawn(AwaitOther(std::move(inner))).value();
  suspended.WaitForNotification();
  ASSERT_TRUE(std::move(sender).Send(21).ok());
  absl::StatusOr<int> result = std::move(outer).Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 42);
}

Co<void> WaitForNotify(Notify* notify, absl::Notification* suspended,
                       std::atomic<bool>* woke) {
  co_await SignalWhenPending(notify->Wait(), suspended);
  woke->store(true);
}

TEST_F(CoOnExecutorTest, AwaitsANotify) {
  Notify notify;
  absl::Notification suspended;
  std::atomic<bool> woke{false};
  auto handle =
      executor_->Spawn(WaitForNotify(&notify, &suspended, &woke)).value();
  suspended.WaitForNotification();
  EXPECT_FALSE(woke.load());
  notify.NotifyOne();
  EXPECT_TRUE(std::move(handle).Wait().ok());
  EXPECT_TRUE(woke.load());
}

Co<int> Double(Sleep sleep, int value) {
  co_await std::move(sleep);
  co_return 2 * value;
}

Co<int> SumOfDoubles(Executor* executor, absl::Notification* suspended) {
  Sleep first = executor->SleepFor(absl::Seconds(1));
  const int a =
      co_await SignalWhenPending(Double(std::move(first), 1), suspended);
  const int b = co_await Double(executor->SleepFor(absl::Seconds(0)), 20);
  co_return a + b;
}

TEST_F(CoOnExecutorTest, AwaitsANestedCo) {
  absl::Notification suspended;
  auto handle =
      executor_->Spawn(SumOfDoubles(executor_.get(), &suspended)).value();
  suspended.WaitForNotification();
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<int> result = std::move(handle).Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 42);
}

Co<int> CountedAnswer(Sleep sleep, std::atomic<int>* destroyed) {
  DestructionCounter counter(destroyed);
  co_await std::move(sleep);
  co_return 1;
}

TEST_F(CoOnExecutorTest, FreesTheFrameOnceOnCompletion) {
  std::atomic<int> destroyed{0};
  auto handle = executor_
                    ->Spawn(CountedAnswer(executor_->SleepFor(absl::Seconds(1)),
                                          &destroyed))
                    .value();
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<int> result = std::move(handle).Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(destroyed.load(), 1);
  executor_->Shutdown(ShutdownMode::kCancel);
  EXPECT_EQ(destroyed.load(), 1);
}

Co<int> CountedReceive(OneShotReceiver<int> receiver,
                       absl::Notification* suspended,
                       std::atomic<int>* destroyed) {
  DestructionCounter counter(destroyed);
  absl::StatusOr<int> value =
      co_await SignalWhenPending(std::move(receiver), suspended);
  co_return value.ok() ? *value : -1;
}

TEST_F(CoOnExecutorTest, FreesTheFrameOnceOnCancellation) {
  auto [sender, receiver] = MakeOneShot<int>();
  absl::Notification suspended;
  std::atomic<int> destroyed{0};
  auto handle =
      executor_
          ->Spawn(CountedReceive(std::move(receiver), &suspended, &destroyed))
          .value();
  suspended.WaitForNotification();
  EXPECT_EQ(destroyed.load(), 0);

  handle.Cancel();
  absl::StatusOr<int> result = std::move(handle).Wait();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(destroyed.load(), 1);
  // The future it was awaiting went with the frame.
  EXPECT_EQ(std::move(sender).Send(1).code(),
            absl::StatusCode::kFailedPrecondition);
  executor_->Shutdown(ShutdownMode::kCancel);
  EXPECT_EQ(destroyed.load(), 1);
}

Co<int> CountedSleep(Sleep sleep, absl::Notification* suspended,
                     std::atomic<int>* destroyed) {
  DestructionCounter counter(destroyed);
  co_await SignalWhenPending(std::move(sleep), suspended);
  co_return 1;
}

TEST_F(CoOnExecutorTest, CancellingASleepingTaskCancelsItsTimer) {
  absl::Notification suspended;
  std::atomic<int> destroyed{0};
  auto handle = executor_
                    ->Spawn(CountedSleep(executor_->SleepFor(absl::Hours(1)),
                                         &suspended, &destroyed))
                    .value();
  suspended.WaitForNotification();
  ASSERT_EQ(executor_->timers().NumPending(), 1u);
  handle.Cancel();
  absl::StatusOr<int> result = std::move(handle).Wait();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_EQ(executor_->timers().NumPending(), 0u);
}

TEST_F(CoOnExecutorTest, ShutdownFreesTheFrameOfASuspendedTaskOnce) {
  auto [sender, receiver] = MakeOneShot<int>();
  absl::Notification suspended;
  std::atomic<int> destroyed{0};
  auto handle =
      executor_
          ->Spawn(CountedReceive(std::move(receiver), &suspended, &destroyed))
          .value();
  suspended.WaitForNotification();
  executor_->Shutdown(ShutdownMode::kCancel);
  EXPECT_EQ(destroyed.load(), 1);
  absl::StatusOr<int> result = std::move(handle).Wait();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
}

Co<int> AwaitInPlace(PollCounter* counter) {
  const int first = co_await *counter;
  const int second = co_await *counter;
  co_return first * 10 + second;
}

TEST(CoTest, AwaitsAnLvalueFutureInPlace) {
  PollCounter counter;
  EXPECT_EQ(BlockOn(AwaitInPlace(&counter)), 12);
  EXPECT_EQ(counter.polls(), 2);
}

Co<absl::Status> AwaitHandleTwice(JoinHandle<int>* handle, int* value) {
  absl::StatusOr<int> first = co_await *handle;
  if (!first.ok()) co_return first.status();
  *value = *first;
  absl::StatusOr<int> again = co_await *handle;  // the same, taken handle
  co_return again.status();
}

TEST_F(CoOnExecutorTest, AwaitsAJoinHandleInPlace) {
  auto answer = executor_->Spawn(Answer()).value();
  int value = 0;
  absl::StatusOr<absl::Status> result =
      std::move(executor_->Spawn(AwaitHandleTwice(&answer, &value)).value())
          .Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(value, 42);
  EXPECT_EQ(result->code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace corosched
