#include "core/scheduler/inject_queue.h"

#include <cstddef>
#include <deque>
#include <vector>

#include "core/task/header.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::internal {
namespace {

using ::testing::ElementsAre;

// Stand-ins for tasks: the queue touches nothing but queue_next.
std::deque<TaskHeader> FakeTasks(size_t count) {
  std::deque<TaskHeader> tasks;
  for (size_t i = 0; i < count; ++i) tasks.emplace_back(nullptr, nullptr);
  return tasks;
}

// Links tasks[begin, end) through queue_next, as a batch for PushBatch.
void Link(std::deque<TaskHeader>& tasks, size_t begin, size_t end) {
  for (size_t i = begin; i + 1 < end; ++i) {
    tasks[i].queue_next = &tasks[i + 1];
  }
}

std::vector<TaskHeader*> Drain(InjectQueue& queue) {
  std::vector<TaskHeader*> out;
  while (TaskHeader* task = queue.Pop()) out.push_back(task);
  return out;
}

TEST(InjectQueueTest, PopsInFifoOrder) {
  std::deque<TaskHeader> tasks = FakeTasks(3);
  InjectQueue queue;
  for (TaskHeader& task : tasks) queue.Push(&task);
  EXPECT_THAT(Drain(queue), ElementsAre(&tasks[0], &tasks[1], &tasks[2]));
}

TEST(InjectQueueTest, PopOnEmptyReturnsNull) {
  InjectQueue queue;
  EXPECT_EQ(queue.Pop(), nullptr);
  EXPECT_TRUE(queue.IsEmpty());
}

TEST(InjectQueueTest, PopBatchTakesAtMostMaxFromTheFrontAsALinkedList) {
  std::deque<TaskHeader> tasks = FakeTasks(5);
  InjectQueue queue;
  for (TaskHeader& task : tasks) queue.Push(&task);
  size_t count = 0;
  TaskHeader* first = queue.PopBatch(3, &count);
  EXPECT_EQ(count, 3u);
  ASSERT_EQ(first, &tasks[0]);
  EXPECT_EQ(first->queue_next, &tasks[1]);
  EXPECT_EQ(tasks[1].queue_next, &tasks[2]);
  EXPECT_EQ(tasks[2].queue_next, nullptr);  // cut from the rest
  EXPECT_EQ(queue.Len(), 2u);
  EXPECT_THAT(Drain(queue), ElementsAre(&tasks[3], &tasks[4]));
}

TEST(InjectQueueTest, PopBatchTakesWhatThereIsAndLeavesTheQueueUsable) {
  std::deque<TaskHeader> tasks = FakeTasks(3);
  InjectQueue queue;
  queue.Push(&tasks[0]);
  queue.Push(&tasks[1]);
  size_t count = 0;
  EXPECT_EQ(queue.PopBatch(10, &count), &tasks[0]);
  EXPECT_EQ(count, 2u);
  EXPECT_TRUE(queue.IsEmpty());
  EXPECT_EQ(queue.PopBatch(10, &count), nullptr);
  EXPECT_EQ(count, 0u);
  queue.Push(&tasks[2]);  // the tail was reset with the head
  EXPECT_THAT(Drain(queue), ElementsAre(&tasks[2]));
}

TEST(InjectQueueTest, PopBatchOfZeroTakesNothing) {
  std::deque<TaskHeader> tasks = FakeTasks(1);
  InjectQueue queue;
  queue.Push(&tasks[0]);
  size_t count = 7;
  EXPECT_EQ(queue.PopBatch(0, &count), nullptr);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(queue.Len(), 1u);
}

TEST(InjectQueueTest, PushBatchKeepsTheBatchInOrderBehindEarlierPushes) {
  std::deque<TaskHeader> tasks = FakeTasks(5);
  InjectQueue queue;
  queue.Push(&tasks[0]);
  Link(tasks, 1, 4);
  queue.PushBatch(&tasks[1], &tasks[3], 3);
  queue.Push(&tasks[4]);
  EXPECT_EQ(queue.Len(), 5u);
  EXPECT_THAT(Drain(queue), ElementsAre(&tasks[0], &tasks[1], &tasks[2],
                                        &tasks[3], &tasks[4]));
}

TEST(InjectQueueTest, PushBatchIntoAnEmptyQueue) {
  std::deque<TaskHeader> tasks = FakeTasks(3);
  InjectQueue queue;
  Link(tasks, 0, 3);
  queue.PushBatch(&tasks[0], &tasks[2], 3);
  EXPECT_THAT(Drain(queue), ElementsAre(&tasks[0], &tasks[1], &tasks[2]));
}

TEST(InjectQueueTest, LenCountsPushesBatchesAndPops) {
  std::deque<TaskHeader> tasks = FakeTasks(4);
  InjectQueue queue;
  EXPECT_EQ(queue.Len(), 0u);
  queue.Push(&tasks[0]);
  EXPECT_EQ(queue.Len(), 1u);
  Link(tasks, 1, 4);
  queue.PushBatch(&tasks[1], &tasks[3], 3);
  EXPECT_EQ(queue.Len(), 4u);
  queue.Pop();
  EXPECT_EQ(queue.Len(), 3u);
  EXPECT_FALSE(queue.IsEmpty());
  Drain(queue);
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_TRUE(queue.IsEmpty());
}

TEST(InjectQueueTest, WorksAgainAfterBeingDrained) {
  std::deque<TaskHeader> tasks = FakeTasks(3);
  InjectQueue queue;
  queue.Push(&tasks[0]);
  EXPECT_THAT(Drain(queue), ElementsAre(&tasks[0]));
  queue.Push(&tasks[1]);
  queue.Push(&tasks[2]);
  EXPECT_THAT(Drain(queue), ElementsAre(&tasks[1], &tasks[2]));
}

TEST(InjectQueueTest, ARequeuedTaskDoesNotDragItsOldSuccessorAlong) {
  std::deque<TaskHeader> tasks = FakeTasks(2);
  InjectQueue queue;
  queue.Push(&tasks[0]);
  queue.Push(&tasks[1]);
  TaskHeader* first = queue.Pop();
  ASSERT_EQ(first, &tasks[0]);
  queue.Pop();
  queue.Push(first);  // tasks[1] already left; it must not come back
  EXPECT_THAT(Drain(queue), ElementsAre(&tasks[0]));
}

}  // namespace
}  // namespace corosched::internal
