// The local queue under concurrent stealing, run under ThreadSanitizer:
// every pushed task is taken exactly once, by the owner or a stealer.

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

#include "core/scheduler/inject_queue.h"
#include "core/scheduler/local_queue.h"
#include "gtest/gtest.h"

namespace corosched::internal {
namespace {

TEST(LocalQueueStressTest, EveryTaskIsTakenExactlyOnce) {
  constexpr int kTasks = 200000;
  // Fake tasks: the queues touch nothing but the pointer and queue_next;
  // queued_at_ns carries each task's index here.
  std::deque<TaskHeader> tasks;
  for (int i = 0; i < kTasks; ++i) {
    tasks.emplace_back(nullptr, nullptr).queued_at_ns = i;
  }
  std::vector<std::atomic<int>> taken(kTasks);
  auto take = [&](TaskHeader* task) {
    taken[task->queued_at_ns].fetch_add(1, std::memory_order_relaxed);
  };

  LocalQueue owner_queue;
  InjectQueue overflow;
  std::atomic<bool> done{false};
  std::vector<std::thread> stealers;
  stealers.reserve(2);
  for (int s = 0; s < 2; ++s) {
    stealers.emplace_back([&] {
      LocalQueue mine;
      while (!done.load(std::memory_order_acquire)) {
        if (TaskHeader* task = owner_queue.StealInto(mine)) {
          take(task);
          while (TaskHeader* more = mine.Pop()) take(more);
        }
      }
      while (TaskHeader* task = owner_queue.StealInto(mine)) {
        take(task);
        while (TaskHeader* more = mine.Pop()) take(more);
      }
    });
  }
  for (int i = 0; i < kTasks; ++i) {
    owner_queue.PushBack(&tasks[i], overflow);
    if (i % 3 == 0) {
      if (TaskHeader* task = owner_queue.Pop()) take(task);
    }
  }
  while (TaskHeader* task = owner_queue.Pop()) take(task);
  done.store(true, std::memory_order_release);
  for (auto& stealer : stealers) stealer.join();
  while (TaskHeader* task = overflow.Pop()) take(task);

  int missing = 0;
  int duplicated = 0;
  for (auto& count : taken) {
    if (count.load() == 0) ++missing;
    if (count.load() > 1) ++duplicated;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
}

}  // namespace
}  // namespace corosched::internal
