// WorkQueues under concurrent pollers, workers, cancels and the sweep: each
// attempt ends exactly once, and no item is held by two workers at once.
// Meant for the ThreadSanitizer build too.

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "core/time/clock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues.h"

namespace corosched::server {
namespace {

constexpr int kTasks = 2000;
constexpr int kWorkers = 3;

class Ledger {
 public:
  void Outcome(const WorkOutcome& outcome) {
    absl::MutexLock lock(&mu_);
    ++ends_[outcome.task_id];
    ++total_;
  }
  // False if another worker holds the task's item now.
  bool Take(const std::string& task_id) {
    absl::MutexLock lock(&mu_);
    return held_.insert(task_id).second;
  }
  void Release(const std::string& task_id) {
    absl::MutexLock lock(&mu_);
    held_.erase(task_id);
  }
  int total() {
    absl::MutexLock lock(&mu_);
    return total_;
  }
  int EndedMoreThanOnce() {
    absl::MutexLock lock(&mu_);
    int repeated = 0;
    for (const auto& [id, n] : ends_) repeated += n > 1;
    return repeated;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> ends_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> held_ ABSL_GUARDED_BY(mu_);
  int total_ ABSL_GUARDED_BY(mu_) = 0;
};

// One worker's handling of a lease it got: complete, fail, heartbeat and
// complete, give it back, or drop it and let the lease run out.
void Work(WorkQueues& queues, Ledger& ledger, const WorkLease& lease,
          std::mt19937& random, std::atomic<int>& overlaps) {
  const std::string id = lease.record.task_id;
  if (!ledger.Take(id)) overlaps.fetch_add(1);
  switch (random() % 5) {
    case 0:
      ledger.Release(id);
      (void)queues.Complete(lease.token, {});
      break;
    case 1:
      ledger.Release(id);
      (void)queues.Fail(lease.token, "E", "", true);
      break;
    case 2:
      (void)queues.Heartbeat(lease.token, {});
      ledger.Release(id);
      (void)queues.Complete(lease.token, {});
      (void)queues.Complete(lease.token, {});  // a retried answer
      break;
    case 3:
      ledger.Release(id);
      (void)queues.ReturnUndelivered(lease.token);
      break;
    default:
      ledger.Release(id);  // dropped: its heartbeat deadline ends it
      break;
  }
}

TEST(WorkQueuesStressTest, EachAttemptEndsExactlyOnce) {
  ManualClock clock;
  Ledger ledger;
  WorkQueues queues(clock,
                    [&ledger](const WorkOutcome& o) { ledger.Outcome(o); });
  std::atomic<int> overlaps{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 0; i < kTasks; ++i) {
      WorkSpec spec;
      spec.task_id = "t" + std::to_string(i);
      spec.queue = i % 2 == 0 ? "even" : "odd";
      spec.heartbeat = absl::Seconds(5);
      EXPECT_TRUE(queues.Enqueue(spec).ok());
      if (i % 7 == 0) queues.RequestCancel("t" + std::to_string(i / 2));
    }
  });
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 random(w);
      while (!done.load()) {
        std::vector<WorkLease> got;
        (void)queues.Poll(
            {w % 2 == 0 ? "even" : "odd", "w", 4, absl::ZeroDuration()},
            [&got](std::vector<WorkLease> l) { got = std::move(l); });
        for (WorkLease& lease : got) {
          Work(queues, ledger, lease, random, overlaps);
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (!done.load()) {
      clock.Advance(absl::Seconds(1));
      queues.ExpireDue();
      if (ledger.total() == kTasks) done.store(true);
    }
  });
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(ledger.total(), kTasks);
  EXPECT_EQ(ledger.EndedMoreThanOnce(), 0);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_TRUE(queues.Stats().empty());
}

}  // namespace
}  // namespace corosched::server
