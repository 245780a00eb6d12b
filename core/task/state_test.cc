#include "core/task/state.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace corosched::internal {
namespace {

using RunResult = TaskState::RunResult;
using IdleResult = TaskState::IdleResult;
using NotifyResult = TaskState::NotifyResult;

constexpr uint64_t kFlagsMask = TaskState::kRefOne - 1;

uint64_t Refs(const TaskState& state) {
  return TaskState::RefCount(state.Load());
}
uint64_t Flags(const TaskState& state) { return state.Load() & kFlagsMask; }
bool Has(const TaskState& state, uint64_t bit) {
  return (state.Load() & bit) != 0;
}

// Takes the first queue entry: the task is polled (running) with the
// JoinHandle, owned-list and running references.
void MakeRunning(TaskState& state) {
  ASSERT_EQ(state.TransitionToRunning(), RunResult::kSuccess);
}

// The first poll returned Pending: idle, with the JoinHandle and owned-list
// references.
void MakeIdle(TaskState& state) {
  MakeRunning(state);
  ASSERT_EQ(state.TransitionToIdle(), IdleResult::kIdle);
}

// The first poll finished the future. The running reference is still held.
void MakeComplete(TaskState& state) {
  MakeRunning(state);
  state.TransitionToComplete();
}

TEST(TaskStateTest, StartsNotifiedWithJoinInterestAndThreeReferences) {
  TaskState state;
  EXPECT_EQ(state.Load(), TaskState::kInitial);
  EXPECT_EQ(Flags(state), TaskState::kNotified | TaskState::kJoinInterest);
  EXPECT_EQ(Refs(state), 3u);
}

// --- TransitionToRunning ---------------------------------------------------

TEST(TaskStateTest, RunningFromNotifiedClearsNotifiedAndKeepsReferences) {
  TaskState state;
  EXPECT_EQ(state.TransitionToRunning(), RunResult::kSuccess);
  EXPECT_TRUE(Has(state, TaskState::kRunning));
  EXPECT_FALSE(Has(state, TaskState::kNotified));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, RunningFromNotifiedAndCancelledAsksForCancellation) {
  TaskState state;
  EXPECT_FALSE(state.TransitionToNotifiedAndCancel());  // already queued
  EXPECT_EQ(state.TransitionToRunning(), RunResult::kCancelled);
  EXPECT_TRUE(Has(state, TaskState::kRunning));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, RunningOnAStaleEntryOfARunningTaskDropsTheEntry) {
  TaskState state;
  ASSERT_TRUE(state.TransitionToShutdown());  // the sweep owns the task now
  EXPECT_EQ(state.TransitionToRunning(), RunResult::kFailed);
  EXPECT_EQ(Refs(state), 2u);
  EXPECT_TRUE(Has(state, TaskState::kRunning));  // still the sweep's
}

TEST(TaskStateTest, RunningOnAStaleEntryOfACompleteTaskDropsTheEntry) {
  TaskState state;
  ASSERT_TRUE(state.TransitionToShutdown());
  state.TransitionToComplete();
  EXPECT_EQ(state.TransitionToRunning(), RunResult::kFailed);
  EXPECT_EQ(Refs(state), 2u);
}

TEST(TaskStateTest, RunningOnTheLastStaleEntryAsksForDeallocation) {
  TaskState state;
  ASSERT_TRUE(state.TransitionToShutdown());
  state.TransitionToComplete();
  ASSERT_FALSE(state.TransitionToTerminal(2));  // the sweep and the handle
  EXPECT_EQ(state.TransitionToRunning(), RunResult::kDealloc);
  EXPECT_EQ(Refs(state), 0u);
}

// --- TransitionToIdle ------------------------------------------------------

TEST(TaskStateTest, IdleDropsTheRunningReference) {
  TaskState state;
  MakeRunning(state);
  EXPECT_EQ(state.TransitionToIdle(), IdleResult::kIdle);
  EXPECT_EQ(Flags(state), TaskState::kJoinInterest);
  EXPECT_EQ(Refs(state), 2u);
}

TEST(TaskStateTest, IdleAfterAWakeDuringThePollKeepsTheReferenceToRequeue) {
  TaskState state;
  MakeRunning(state);
  ASSERT_EQ(state.TransitionToNotifiedByRef(), NotifyResult::kDoNothing);
  EXPECT_EQ(state.TransitionToIdle(), IdleResult::kNotified);
  EXPECT_FALSE(Has(state, TaskState::kRunning));
  EXPECT_TRUE(Has(state, TaskState::kNotified));
  EXPECT_EQ(Refs(state), 3u);  // the running reference is the entry's now
  EXPECT_EQ(state.TransitionToRunning(), RunResult::kSuccess);
}

TEST(TaskStateTest, IdleAfterCancelDuringThePollLeavesTheWordForCancel) {
  TaskState state;
  MakeRunning(state);
  ASSERT_FALSE(state.TransitionToNotifiedAndCancel());
  const uint64_t before = state.Load();
  EXPECT_EQ(state.TransitionToIdle(), IdleResult::kCancelled);
  EXPECT_EQ(state.Load(), before);
  EXPECT_TRUE(Has(state, TaskState::kRunning));
}

TEST(TaskStateTest, IdleWithTheLastReferenceAsksForDeallocation) {
  TaskState state;
  MakeRunning(state);
  ASSERT_FALSE(state.TransitionToTerminal(2));  // handle and owned list gone
  EXPECT_EQ(state.TransitionToIdle(), IdleResult::kDealloc);
  EXPECT_EQ(Refs(state), 0u);
}

// --- TransitionToComplete --------------------------------------------------

TEST(TaskStateTest, CompleteReturnsThePreviousWordAndStopsRunning) {
  TaskState state;
  MakeRunning(state);
  const uint64_t before = state.Load();
  EXPECT_EQ(state.TransitionToComplete(), before);
  EXPECT_TRUE(Has(state, TaskState::kComplete));
  EXPECT_FALSE(Has(state, TaskState::kRunning));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, CompleteReportsAStoredJoinWaker) {
  TaskState state;
  MakeRunning(state);
  ASSERT_TRUE(state.SetJoinWaker());
  const uint64_t before = state.TransitionToComplete();
  EXPECT_TRUE(before & TaskState::kJoinInterest);
  EXPECT_TRUE(before & TaskState::kJoinWaker);
}

// --- TransitionToNotifiedByRef (Waker::WakeByRef) --------------------------

TEST(TaskStateTest, WakeByRefOfAnIdleTaskSubmitsItWithANewReference) {
  TaskState state;
  MakeIdle(state);
  EXPECT_EQ(state.TransitionToNotifiedByRef(), NotifyResult::kSubmit);
  EXPECT_TRUE(Has(state, TaskState::kNotified));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, WakeByRefOfARunningTaskOnlyMarksItNotified) {
  TaskState state;
  MakeRunning(state);
  EXPECT_EQ(state.TransitionToNotifiedByRef(), NotifyResult::kDoNothing);
  EXPECT_TRUE(Has(state, TaskState::kNotified));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, WakeByRefOfANotifiedTaskChangesNothing) {
  TaskState state;
  MakeIdle(state);
  ASSERT_EQ(state.TransitionToNotifiedByRef(), NotifyResult::kSubmit);
  const uint64_t before = state.Load();
  EXPECT_EQ(state.TransitionToNotifiedByRef(), NotifyResult::kDoNothing);
  EXPECT_EQ(state.Load(), before);
}

TEST(TaskStateTest, WakeByRefAfterCompleteDoesNothing) {
  TaskState state;
  MakeComplete(state);
  const uint64_t before = state.Load();
  EXPECT_EQ(state.TransitionToNotifiedByRef(), NotifyResult::kDoNothing);
  EXPECT_EQ(state.Load(), before);
}

// --- TransitionToNotifiedByVal (Waker::Wake) -------------------------------

TEST(TaskStateTest, WakeByValOfAnIdleTaskHandsTheWakersReferenceToTheQueue) {
  TaskState state;
  MakeIdle(state);
  state.RefInc();  // the Waker's reference
  EXPECT_EQ(state.TransitionToNotifiedByVal(), NotifyResult::kSubmit);
  EXPECT_TRUE(Has(state, TaskState::kNotified));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, WakeByValOfARunningTaskMarksItAndReleasesTheWaker) {
  TaskState state;
  MakeRunning(state);
  state.RefInc();
  EXPECT_EQ(state.TransitionToNotifiedByVal(), NotifyResult::kDoNothing);
  EXPECT_TRUE(Has(state, TaskState::kNotified));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, WakeByValOfANotifiedTaskReleasesTheWaker) {
  TaskState state;  // notified: its first entry is queued
  state.RefInc();
  EXPECT_EQ(state.TransitionToNotifiedByVal(), NotifyResult::kDoNothing);
  EXPECT_EQ(Flags(state), TaskState::kNotified | TaskState::kJoinInterest);
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, WakeByValAfterCompleteOnlyReleasesTheWaker) {
  TaskState state;
  MakeComplete(state);
  state.RefInc();
  const uint64_t flags = Flags(state);
  EXPECT_EQ(state.TransitionToNotifiedByVal(), NotifyResult::kDoNothing);
  EXPECT_EQ(Flags(state), flags);
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, WakeByValWithTheLastReferenceAsksForDeallocation) {
  TaskState state;
  MakeComplete(state);
  ASSERT_FALSE(state.TransitionToTerminal(2));  // only the Waker's is left
  EXPECT_EQ(state.TransitionToNotifiedByVal(), NotifyResult::kDealloc);
  EXPECT_EQ(Refs(state), 0u);
}

// --- TransitionToNotifiedAndCancel (JoinHandle::Cancel) --------------------

TEST(TaskStateTest, CancelOfAnIdleTaskSubmitsItWithANewReference) {
  TaskState state;
  MakeIdle(state);
  EXPECT_TRUE(state.TransitionToNotifiedAndCancel());
  EXPECT_TRUE(Has(state, TaskState::kCancelled));
  EXPECT_TRUE(Has(state, TaskState::kNotified));
  EXPECT_EQ(Refs(state), 3u);
  EXPECT_EQ(state.TransitionToRunning(), RunResult::kCancelled);
}

TEST(TaskStateTest, CancelOfARunningTaskLeavesItToThePoller) {
  TaskState state;
  MakeRunning(state);
  EXPECT_FALSE(state.TransitionToNotifiedAndCancel());
  EXPECT_TRUE(Has(state, TaskState::kCancelled));
  EXPECT_TRUE(Has(state, TaskState::kNotified));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, CancelOfANotifiedTaskLeavesItToTheQueuedEntry) {
  TaskState state;
  EXPECT_FALSE(state.TransitionToNotifiedAndCancel());
  EXPECT_TRUE(Has(state, TaskState::kCancelled));
  EXPECT_EQ(Refs(state), 3u);
}

TEST(TaskStateTest, CancelTwiceSubmitsOnce) {
  TaskState state;
  MakeIdle(state);
  ASSERT_TRUE(state.TransitionToNotifiedAndCancel());
  const uint64_t before = state.Load();
  EXPECT_FALSE(state.TransitionToNotifiedAndCancel());
  EXPECT_EQ(state.Load(), before);
}

TEST(TaskStateTest, CancelAfterCompleteDoesNothing) {
  TaskState state;
  MakeComplete(state);
  const uint64_t before = state.Load();
  EXPECT_FALSE(state.TransitionToNotifiedAndCancel());
  EXPECT_EQ(state.Load(), before);
}

// --- TransitionToShutdown --------------------------------------------------

TEST(TaskStateTest, ShutdownOfAnIdleTaskHandsItToTheSweep) {
  TaskState state;
  MakeIdle(state);
  EXPECT_TRUE(state.TransitionToShutdown());
  EXPECT_TRUE(Has(state, TaskState::kRunning));
  EXPECT_TRUE(Has(state, TaskState::kCancelled));
  EXPECT_EQ(Refs(state), 2u);
}

TEST(TaskStateTest, ShutdownOfARunningTaskOnlyMarksItCancelled) {
  TaskState state;
  MakeRunning(state);
  const uint64_t before = state.Load();
  EXPECT_FALSE(state.TransitionToShutdown());
  EXPECT_EQ(state.Load(), before | TaskState::kCancelled);
  EXPECT_EQ(state.TransitionToIdle(), IdleResult::kCancelled);
}

TEST(TaskStateTest, ShutdownOfACompleteTaskOnlyMarksItCancelled) {
  TaskState state;
  MakeComplete(state);
  const uint64_t before = state.Load();
  EXPECT_FALSE(state.TransitionToShutdown());
  EXPECT_EQ(state.Load(), before | TaskState::kCancelled);
}

// --- JoinHandle bits -------------------------------------------------------

TEST(TaskStateTest, UnsetJoinInterestSucceedsBeforeComplete) {
  TaskState state;
  MakeIdle(state);
  EXPECT_TRUE(state.UnsetJoinInterest());
  EXPECT_FALSE(Has(state, TaskState::kJoinInterest));
}

TEST(TaskStateTest, UnsetJoinInterestFailsAfterComplete) {
  TaskState state;
  MakeComplete(state);
  EXPECT_FALSE(state.UnsetJoinInterest());
  EXPECT_TRUE(Has(state, TaskState::kJoinInterest));
}

TEST(TaskStateTest, SetJoinWakerSucceedsBeforeComplete) {
  TaskState state;
  MakeIdle(state);
  EXPECT_TRUE(state.SetJoinWaker());
  EXPECT_TRUE(Has(state, TaskState::kJoinWaker));
}

TEST(TaskStateTest, SetJoinWakerFailsAfterComplete) {
  TaskState state;
  MakeComplete(state);
  EXPECT_FALSE(state.SetJoinWaker());
  EXPECT_FALSE(Has(state, TaskState::kJoinWaker));
}

TEST(TaskStateTest, UnsetJoinWakerSucceedsBeforeComplete) {
  TaskState state;
  MakeIdle(state);
  ASSERT_TRUE(state.SetJoinWaker());
  EXPECT_TRUE(state.UnsetJoinWaker());
  EXPECT_FALSE(Has(state, TaskState::kJoinWaker));
}

TEST(TaskStateTest, UnsetJoinWakerFailsAfterComplete) {
  TaskState state;
  MakeRunning(state);
  ASSERT_TRUE(state.SetJoinWaker());
  state.TransitionToComplete();
  EXPECT_FALSE(state.UnsetJoinWaker());
  EXPECT_TRUE(Has(state, TaskState::kJoinWaker));
}

// --- Reference counting ----------------------------------------------------

TEST(TaskStateTest, RefDecIsTrueOnlyForTheLastReference) {
  TaskState state;
  state.RefInc();
  EXPECT_EQ(Refs(state), 4u);
  EXPECT_FALSE(state.RefDec());
  EXPECT_FALSE(state.RefDec());
  EXPECT_FALSE(state.RefDec());
  EXPECT_TRUE(state.RefDec());
  EXPECT_EQ(Refs(state), 0u);
}

TEST(TaskStateTest, ReferenceCountingLeavesTheFlagsAlone) {
  TaskState state;
  const uint64_t flags = Flags(state);
  state.RefInc();
  EXPECT_EQ(Flags(state), flags);
  state.RefDec();
  EXPECT_EQ(Flags(state), flags);
}

TEST(TaskStateTest, TerminalIsTrueWhenItDropsTheLastReferences) {
  TaskState state;
  EXPECT_FALSE(state.TransitionToTerminal(2));
  EXPECT_EQ(Refs(state), 1u);
  EXPECT_TRUE(state.TransitionToTerminal(1));
}

TEST(TaskStateDeathTest, RefIncOnAFreedTaskAborts) {
  TaskState state;
  ASSERT_TRUE(state.TransitionToTerminal(3));
  EXPECT_DEATH(state.RefInc(), "");
}

}  // namespace
}  // namespace corosched::internal
