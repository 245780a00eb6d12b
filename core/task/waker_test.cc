#include "core/task/waker.h"

#include <utility>

#include "gtest/gtest.h"

namespace corosched {
namespace {

// What a Waker did to its target, through a vtable that only counts.
struct WakeCounts {
  int clones = 0;
  int wakes = 0;
  int wakes_by_ref = 0;
  int drops = 0;

  // References the Wakers made from this target hold: the adopted one, plus
  // each clone, minus each drop and each consuming wake.
  int live() const { return 1 + clones - drops - wakes; }
};

WakeCounts* Counts(const void* data) {
  return static_cast<WakeCounts*>(const_cast<void*>(data));
}

constexpr WakerVTable kCountingVTable = {
    [](const void* data) { ++Counts(data)->clones; },
    [](const void* data) { ++Counts(data)->wakes; },
    [](const void* data) { ++Counts(data)->wakes_by_ref; },
    [](const void* data) { ++Counts(data)->drops; },
};

// Same callbacks, different table: a different kind of target.
constexpr WakerVTable kOtherVTable = kCountingVTable;

Waker CountingWaker(WakeCounts* counts) {
  return Waker::FromRaw(&kCountingVTable, counts);
}

TEST(WakerTest, CopyClonesTheReference) {
  WakeCounts counts;
  {
    Waker waker = CountingWaker(&counts);
    // The copy is what is under test.
    Waker copy = waker;  // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_EQ(counts.clones, 1);
    EXPECT_EQ(counts.live(), 2);
    EXPECT_FALSE(copy.empty());
  }
  EXPECT_EQ(counts.drops, 2);
  EXPECT_EQ(counts.live(), 0);
}

TEST(WakerTest, CopyAssignmentClonesTheNewAndDropsTheOld) {
  WakeCounts first;
  WakeCounts second;
  Waker waker = CountingWaker(&first);
  {
    Waker other = CountingWaker(&second);
    waker = other;
    EXPECT_EQ(first.live(), 0);
    EXPECT_EQ(second.live(), 2);
  }
  EXPECT_EQ(second.live(), 1);
  EXPECT_TRUE(waker.WillWake(CountingWaker(&second)));
}

TEST(WakerTest, DestructionDropsTheReference) {
  WakeCounts counts;
  { Waker waker = CountingWaker(&counts); }
  EXPECT_EQ(counts.drops, 1);
  EXPECT_EQ(counts.clones, 0);
  EXPECT_EQ(counts.wakes, 0);
}

TEST(WakerTest, WakeConsumesTheReference) {
  WakeCounts counts;
  {
    Waker waker = CountingWaker(&counts);
    std::move(waker).Wake();
    EXPECT_EQ(counts.wakes, 1);
    EXPECT_TRUE(waker.empty());  // NOLINT(bugprone-use-after-move)
  }
  EXPECT_EQ(counts.drops, 0);  // the wake released it; nothing to drop
  EXPECT_EQ(counts.live(), 0);
}

TEST(WakerTest, WakeByRefKeepsTheReference) {
  WakeCounts counts;
  {
    Waker waker = CountingWaker(&counts);
    waker.WakeByRef();
    waker.WakeByRef();
    EXPECT_EQ(counts.wakes_by_ref, 2);
    EXPECT_EQ(counts.wakes, 0);
    EXPECT_FALSE(waker.empty());
    EXPECT_EQ(counts.drops, 0);
  }
  EXPECT_EQ(counts.drops, 1);
  EXPECT_EQ(counts.live(), 0);
}

TEST(WakerTest, WillWakeTheSameTarget) {
  WakeCounts counts;
  Waker waker = CountingWaker(&counts);
  Waker copy = waker;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_TRUE(waker.WillWake(copy));
  EXPECT_TRUE(copy.WillWake(waker));
}

TEST(WakerTest, WillNotWakeADifferentTarget) {
  WakeCounts first;
  WakeCounts second;
  Waker waker = CountingWaker(&first);
  EXPECT_FALSE(waker.WillWake(CountingWaker(&second)));
  EXPECT_FALSE(waker.WillWake(Waker::FromRaw(&kOtherVTable, &first)));
  EXPECT_FALSE(waker.WillWake(Waker()));
  EXPECT_FALSE(Waker().WillWake(waker));
}

TEST(WakerTest, DefaultWakerWakesNothing) {
  Waker waker;
  EXPECT_TRUE(waker.empty());
  waker.WakeByRef();
  Waker copy = waker;
  EXPECT_TRUE(copy.empty());
  std::move(waker).Wake();
  std::move(copy).Wake();
}

TEST(WakerTest, MoveLeavesTheSourceEmpty) {
  WakeCounts counts;
  {
    Waker waker = CountingWaker(&counts);
    Waker moved = std::move(waker);
    EXPECT_TRUE(waker.empty());  // NOLINT(bugprone-use-after-move)
    EXPECT_FALSE(moved.empty());
    EXPECT_EQ(counts.clones, 0);
    waker.WakeByRef();  // an empty Waker wakes nothing
    EXPECT_EQ(counts.wakes_by_ref, 0);
    moved.WakeByRef();
    EXPECT_EQ(counts.wakes_by_ref, 1);
  }
  EXPECT_EQ(counts.drops, 1);
}

TEST(WakerTest, MoveAssignmentDropsTheOldAndLeavesTheSourceEmpty) {
  WakeCounts first;
  WakeCounts second;
  Waker waker = CountingWaker(&first);
  Waker other = CountingWaker(&second);
  waker = std::move(other);
  EXPECT_TRUE(other.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(first.live(), 0);
  EXPECT_EQ(second.live(), 1);
  EXPECT_EQ(second.clones, 0);
  waker.WakeByRef();
  EXPECT_EQ(second.wakes_by_ref, 1);
  EXPECT_EQ(first.wakes_by_ref, 0);
}

TEST(ContextTest, LendsTheWakerItWasMadeWith) {
  WakeCounts counts;
  Waker waker = CountingWaker(&counts);
  Context cx(waker);
  EXPECT_EQ(&cx.waker(), &waker);
  cx.waker().WakeByRef();
  EXPECT_EQ(counts.wakes_by_ref, 1);
  EXPECT_EQ(counts.clones, 0);
}

}  // namespace
}  // namespace corosched
