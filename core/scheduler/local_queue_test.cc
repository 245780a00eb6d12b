#include "core/scheduler/local_queue.h"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <vector>

#include "core/scheduler/inject_queue.h"
#include "core/task/header.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::internal {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Stand-ins for tasks: the queues touch nothing but queue_next.
std::deque<TaskHeader> FakeTasks(size_t count) {
  std::deque<TaskHeader> tasks;
  for (size_t i = 0; i < count; ++i) tasks.emplace_back(nullptr, nullptr);
  return tasks;
}

std::vector<TaskHeader*> Pointers(std::deque<TaskHeader>& tasks, size_t begin,
                                  size_t end) {
  std::vector<TaskHeader*> out;
  for (size_t i = begin; i < end; ++i) out.push_back(&tasks[i]);
  return out;
}

// Where each of `popped` sits in `tasks`.
std::vector<size_t> IndexesOf(std::deque<TaskHeader>& tasks,
                              const std::vector<TaskHeader*>& popped) {
  std::vector<size_t> out;
  for (TaskHeader* task : popped) {
    size_t i = 0;
    while (i < tasks.size() && &tasks[i] != task) ++i;
    out.push_back(i);
  }
  return out;
}

std::vector<TaskHeader*> Drain(LocalQueue& queue) {
  std::vector<TaskHeader*> out;
  while (TaskHeader* task = queue.Pop()) out.push_back(task);
  return out;
}

std::vector<TaskHeader*> Drain(InjectQueue& queue) {
  std::vector<TaskHeader*> out;
  while (TaskHeader* task = queue.Pop()) out.push_back(task);
  return out;
}

TEST(LocalQueueTest, PopsInFifoOrder) {
  std::deque<TaskHeader> tasks = FakeTasks(10);
  LocalQueue queue;
  InjectQueue overflow;
  for (TaskHeader& task : tasks) queue.PushBack(&task, overflow);
  EXPECT_THAT(Drain(queue), ElementsAreArray(Pointers(tasks, 0, 10)));
  EXPECT_TRUE(overflow.IsEmpty());
}

TEST(LocalQueueTest, PopOnEmptyReturnsNull) {
  LocalQueue queue;
  EXPECT_EQ(queue.Pop(), nullptr);
  EXPECT_TRUE(queue.IsEmpty());
}

TEST(LocalQueueTest, KeepsFifoOrderAcrossManyTripsRoundTheRing) {
  std::deque<TaskHeader> tasks = FakeTasks(200);
  LocalQueue queue;
  InjectQueue overflow;
  for (int round = 0; round < 20; ++round) {
    for (TaskHeader& task : tasks) queue.PushBack(&task, overflow);
    ASSERT_THAT(Drain(queue), ElementsAreArray(Pointers(tasks, 0, 200)))
        << "round " << round;
  }
  EXPECT_TRUE(overflow.IsEmpty());
}

TEST(LocalQueueTest, HoldsCapacityTasksWithoutOverflowing) {
  std::deque<TaskHeader> tasks = FakeTasks(LocalQueue::kCapacity);
  LocalQueue queue;
  InjectQueue overflow;
  for (TaskHeader& task : tasks) queue.PushBack(&task, overflow);
  EXPECT_EQ(queue.Len(), LocalQueue::kCapacity);
  EXPECT_EQ(overflow.Len(), 0u);
}

TEST(LocalQueueTest, OverflowMovesTheOlderHalfPlusTheNewTaskInOrder) {
  constexpr size_t kCapacity = LocalQueue::kCapacity;
  constexpr size_t kHalf = kCapacity / 2;
  std::deque<TaskHeader> tasks = FakeTasks(kCapacity + 1);
  LocalQueue queue;
  InjectQueue overflow;
  for (TaskHeader& task : tasks) queue.PushBack(&task, overflow);

  EXPECT_EQ(overflow.Len(), kHalf + 1);
  EXPECT_EQ(queue.Len(), kCapacity - kHalf);
  std::vector<TaskHeader*> overflowed = Pointers(tasks, 0, kHalf);
  overflowed.push_back(&tasks[kCapacity]);
  EXPECT_THAT(Drain(overflow), ElementsAreArray(overflowed));
  EXPECT_THAT(Drain(queue),
              ElementsAreArray(Pointers(tasks, kHalf, kCapacity)));
}

TEST(LocalQueueTest, AcceptsPushesAgainAfterOverflowing) {
  constexpr size_t kCapacity = LocalQueue::kCapacity;
  std::deque<TaskHeader> tasks = FakeTasks(kCapacity + 2);
  LocalQueue queue;
  InjectQueue overflow;
  for (size_t i = 0; i <= kCapacity; ++i) queue.PushBack(&tasks[i], overflow);
  const size_t overflowed = overflow.Len();
  queue.PushBack(&tasks[kCapacity + 1], overflow);
  EXPECT_EQ(overflow.Len(), overflowed);
  std::vector<TaskHeader*> popped = Drain(queue);
  ASSERT_FALSE(popped.empty());
  EXPECT_EQ(popped.back(), &tasks[kCapacity + 1]);
}

TEST(LocalQueueTest, StealIntoMovesAboutHalfAndReturnsOne) {
  std::deque<TaskHeader> tasks = FakeTasks(10);
  LocalQueue victim;
  LocalQueue thief;
  InjectQueue overflow;
  for (TaskHeader& task : tasks) victim.PushBack(&task, overflow);

  TaskHeader* stolen = victim.StealInto(thief);
  ASSERT_NE(stolen, nullptr);
  EXPECT_EQ(victim.Len(), 5u);
  EXPECT_EQ(thief.Len(), 4u);  // plus the one handed back

  // The victim keeps its newest half, still in order; the oldest half moved,
  // and the thief pops what it queued in the victim's order.
  EXPECT_THAT(Drain(victim), ElementsAreArray(Pointers(tasks, 5, 10)));
  std::vector<size_t> moved = IndexesOf(tasks, Drain(thief));
  EXPECT_TRUE(std::is_sorted(moved.begin(), moved.end()));
  moved.push_back(IndexesOf(tasks, {stolen}).front());
  EXPECT_THAT(moved, UnorderedElementsAre(0, 1, 2, 3, 4));
  EXPECT_TRUE(overflow.IsEmpty());
}

TEST(LocalQueueTest, StealingASingleTaskReturnsIt) {
  std::deque<TaskHeader> tasks = FakeTasks(1);
  LocalQueue victim;
  LocalQueue thief;
  InjectQueue overflow;
  victim.PushBack(&tasks[0], overflow);
  EXPECT_EQ(victim.StealInto(thief), &tasks[0]);
  EXPECT_TRUE(victim.IsEmpty());
  EXPECT_TRUE(thief.IsEmpty());
}

TEST(LocalQueueTest, StealingFromAnEmptyQueueReturnsNull) {
  LocalQueue victim;
  LocalQueue thief;
  EXPECT_EQ(victim.StealInto(thief), nullptr);
  EXPECT_TRUE(thief.IsEmpty());
}

TEST(LocalQueueTest, StealingFromADrainedQueueReturnsNull) {
  std::deque<TaskHeader> tasks = FakeTasks(3);
  LocalQueue victim;
  LocalQueue thief;
  InjectQueue overflow;
  for (TaskHeader& task : tasks) victim.PushBack(&task, overflow);
  EXPECT_THAT(Drain(victim), ElementsAreArray(Pointers(tasks, 0, 3)));
  EXPECT_EQ(victim.StealInto(thief), nullptr);
  EXPECT_THAT(Drain(thief), IsEmpty());
}

TEST(LocalQueueTest, LenCountsPushesAndPops) {
  std::deque<TaskHeader> tasks = FakeTasks(5);
  LocalQueue queue;
  InjectQueue overflow;
  EXPECT_EQ(queue.Len(), 0u);
  for (size_t i = 0; i < tasks.size(); ++i) {
    queue.PushBack(&tasks[i], overflow);
    EXPECT_EQ(queue.Len(), i + 1);
  }
  EXPECT_FALSE(queue.IsEmpty());
  queue.Pop();
  queue.Pop();
  EXPECT_EQ(queue.Len(), 3u);
  Drain(queue);
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_TRUE(queue.IsEmpty());
}

}  // namespace
}  // namespace corosched::internal
