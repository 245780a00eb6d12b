// Stress tests of the executor's guarantees, run under ThreadSanitizer by
// `make test`. Each counts exactly, so a lost wake (a hang, caught by the
// deadline), a double poll, a spurious poll or a double free fails it.

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/executor.h"
#include "core/testing/test_futures.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using testing::Tracked;
using testing::YieldTimes;

constexpr int kRounds = 300;

// Shared between one task and the thread that wakes it. Round k: the task's
// poll k publishes k (and its waker); the waker thread then sends wake k+1.
// At the start of poll j exactly j wakes must have been sent: fewer means a
// spurious or double poll, and a lost wake leaves the task stuck (the test's
// deadline catches it).
struct Rendezvous {
  absl::Mutex mu;
  Waker waker ABSL_GUARDED_BY(mu);
  std::atomic<int> published{-1};
  std::atomic<int> wakes_sent{0};
  std::atomic<bool> in_poll{false};
  std::atomic<int> errors{0};
};

class WokenFromOutside {
 public:
  using Output = int;
  explicit WokenFromOutside(Rendezvous* r) : r_(r) {}

  corosched::Poll<int> Poll(Context& cx) {
    if (r_->in_poll.exchange(true)) r_->errors.fetch_add(1);  // two pollers
    const int poll = polls_++;
    if (r_->wakes_sent.load() != poll) r_->errors.fetch_add(1);
    if (poll == kRounds) {
      r_->in_poll.store(false);
      return corosched::Poll<int>::Ready(poll);
    }
    {
      absl::MutexLock lock(&r_->mu);
      r_->waker = cx.waker();
    }
    // The wake may now arrive while this poll is still running.
    r_->published.store(poll);
    r_->in_poll.store(false);
    return corosched::Poll<int>::Pending();
  }

 private:
  Rendezvous* r_;
  int polls_ = 0;
};

TEST(ExecutorStressTest, EveryWakeFromManyThreadsCausesExactlyOnePoll) {
  constexpr int kTasks = 32;
  constexpr int kWakerThreads = 4;
  auto executor = Executor::Create({.workers = 2}).value();
  std::vector<std::unique_ptr<Rendezvous>> rendezvous;
  std::vector<JoinHandle<int>> handles;
  for (int i = 0; i < kTasks; ++i) {
    rendezvous.push_back(std::make_unique<Rendezvous>());
    handles.push_back(
        executor->Spawn(WokenFromOutside(rendezvous.back().get())).value());
  }
  std::atomic<bool> stuck{false};
  std::vector<std::thread> threads;
  threads.reserve(kWakerThreads);
  for (int t = 0; t < kWakerThreads; ++t) {
    threads.emplace_back([&, t] {
      const absl::Time deadline = absl::Now() + absl::Seconds(120);
      int finished = 0;
      while (finished < kTasks / kWakerThreads) {
        if (absl::Now() > deadline) {
          stuck.store(true);
          return;
        }
        finished = 0;
        for (int i = t; i < kTasks; i += kWakerThreads) {
          Rendezvous& r = *rendezvous[i];
          const int sent = r.wakes_sent.load();
          if (sent == kRounds) {
            ++finished;
            continue;
          }
          if (r.published.load() != sent) continue;  // not suspended yet
          Waker waker;
          {
            absl::MutexLock lock(&r.mu);
            waker = r.waker;
          }
          r.wakes_sent.store(sent + 1);
          if (sent % 2 == 0) {
            waker.WakeByRef();
          } else {
            std::move(waker).Wake();
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_FALSE(stuck.load()) << "a wake was lost: some task never finished";
  for (int i = 0; i < kTasks; ++i) {
    EXPECT_EQ(std::move(handles[i]).Wait().value(), kRounds);
    EXPECT_EQ(rendezvous[i]->errors.load(), 0) << "task " << i;
  }
}

TEST(ExecutorStressTest, SelfWakesDuringPollEachCauseOneMorePoll) {
  constexpr int kTasks = 2000;
  auto executor = Executor::Create({.workers = 2}).value();
  std::atomic<int> live{0};
  std::vector<JoinHandle<int>> handles;
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    handles.push_back(executor->Spawn(YieldTimes(50, &live)).value());
  }
  for (auto& handle : handles) EXPECT_EQ(std::move(handle).Wait().value(), 7);
  executor->Shutdown(ShutdownMode::kDrain);
  EXPECT_EQ(executor->Stats().polls, uint64_t{kTasks} * 51);
  EXPECT_EQ(live.load(), 0);
}

// Yields a few times, then records that it completed.
class FinishAfter {
 public:
  using Output = int;
  FinishAfter(int yields, std::atomic<int>* live, std::atomic<int>* finished)
      : inner_(yields, live), finished_(finished) {}
  corosched::Poll<int> Poll(Context& cx) {
    auto poll = inner_.Poll(cx);
    if (poll.IsReady()) finished_->fetch_add(1);
    return poll;
  }

 private:
  YieldTimes inner_;
  std::atomic<int>* finished_;
};

TEST(ExecutorStressTest, CancellationRacingCompletionResolvesEachTaskOnce) {
  constexpr int kTasks = 3000;
  auto executor = Executor::Create({.workers = 2}).value();
  std::atomic<int> live{0};
  std::atomic<int> finished{0};
  std::vector<JoinHandle<int>> handles;
  std::mt19937 rng(42);
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    handles.push_back(
        executor->Spawn(FinishAfter(int(rng() % 4), &live, &finished)).value());
  }
  std::thread canceller([&] {
    for (int i = kTasks - 1; i >= 0; i -= 2) handles[i].Cancel();
  });
  for (int i = 0; i < kTasks; i += 2) handles[i].Cancel();
  canceller.join();
  int ok = 0;
  int cancelled = 0;
  for (auto& handle : handles) {
    absl::StatusOr<int> result = std::move(handle).Wait();
    if (result.ok()) {
      EXPECT_EQ(*result, 7);
      ++ok;
    } else {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
      ++cancelled;
    }
  }
  executor->Shutdown(ShutdownMode::kDrain);
  EXPECT_EQ(ok + cancelled, kTasks);
  EXPECT_EQ(ok, finished.load()) << "a task both finished and was cancelled";
  EXPECT_EQ(live.load(), 0) << "a future was not destroyed exactly once";
}

TEST(ExecutorStressTest, ShutdownRacingSpawnLosesNothing) {
  for (int iteration = 0; iteration < 20; ++iteration) {
    auto executor = Executor::Create({.workers = 2}).value();
    std::atomic<int> live{0};
    std::atomic<int> refused{0};
    std::atomic<bool> go{false};
    std::vector<std::vector<JoinHandle<int>>> accepted(3);
    std::vector<std::thread> spawners;
    spawners.reserve(3);
    for (int t = 0; t < 3; ++t) {
      spawners.emplace_back([&, t] {
        Spawner spawner = executor->spawner();
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < 300; ++i) {
          auto handle = spawner.Spawn(YieldTimes(i % 5, &live));
          if (handle.ok()) {
            accepted[t].push_back(std::move(*handle));
          } else {
            EXPECT_EQ(handle.status().code(),
                      absl::StatusCode::kFailedPrecondition);
            refused.fetch_add(1);
          }
        }
      });
    }
    go.store(true);
    executor->Shutdown(iteration % 2 == 0 ? ShutdownMode::kCancel
                                          : ShutdownMode::kDrain);
    for (auto& thread : spawners) thread.join();
    int resolved = 0;
    for (auto& handles : accepted) {
      for (auto& handle : handles) {
        absl::StatusOr<int> result = std::move(handle).Wait();
        EXPECT_TRUE(result.ok() ||
                    result.status().code() == absl::StatusCode::kCancelled);
        ++resolved;
      }
    }
    EXPECT_EQ(resolved + refused.load(), 900);
    EXPECT_EQ(executor->Stats().live_tasks, 0u);
    executor.reset();
    EXPECT_EQ(live.load(), 0) << "iteration " << iteration;
  }
}

Co<int> Fork(Spawner spawner, int depth, std::atomic<int>* live) {
  if (depth == 0) co_return (co_await YieldTimes(1, live));
  auto left = spawner.Spawn(Fork(spawner, depth - 1, live));
  auto right = spawner.Spawn(Fork(spawner, depth - 1, live));
  if (!left.ok() || !right.ok()) co_return -1;
  const int a = (co_await *left).value();
  const int b = (co_await *right).value();
  co_return a + b;
}

TEST(ExecutorStressTest, JoinWakersRaceCompletionAcrossWorkers) {
  auto executor = Executor::Create({.workers = 2}).value();
  std::atomic<int> live{0};
  auto root = executor->Spawn(Fork(executor->spawner(), 11, &live)).value();
  EXPECT_EQ(std::move(root).Wait().value(), 7 * 2048);
  executor->Shutdown(ShutdownMode::kDrain);
  EXPECT_EQ(live.load(), 0);
}

}  // namespace
}  // namespace corosched
