#include "core/time/timer_heap.h"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <random>
#include <set>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

absl::Time At(int64_t seconds) {
  return absl::UnixEpoch() + absl::Seconds(seconds);
}

// Entries with the given deadlines (in seconds); a deque keeps them put.
std::deque<TimerEntry> Entries(const std::vector<int64_t>& seconds) {
  std::deque<TimerEntry> entries(seconds.size());
  for (size_t i = 0; i < seconds.size(); ++i) {
    entries[i].deadline = At(seconds[i]);
  }
  return entries;
}

// Takes the top until the heap is empty; the deadlines in the order taken.
std::vector<absl::Time> DrainDeadlines(TimerHeap& heap) {
  std::vector<absl::Time> out;
  while (!heap.empty()) {
    TimerEntry* top = heap.Top();
    out.push_back(top->deadline);
    heap.Remove(top);
  }
  return out;
}

// Every queued entry's index is its own slot: indexes are distinct, inside
// the heap, the top's is 0, and unqueued entries say kNotQueued.
void ExpectIndexesConsistent(const TimerHeap& heap,
                             const std::deque<TimerEntry>& entries,
                             const std::vector<bool>& queued) {
  std::vector<bool> seen(heap.size(), false);
  for (size_t i = 0; i < entries.size(); ++i) {
    const size_t index = entries[i].heap_index;
    if (!queued[i]) {
      EXPECT_EQ(index, TimerEntry::kNotQueued) << "entry " << i;
      continue;
    }
    ASSERT_LT(index, heap.size()) << "entry " << i;
    EXPECT_FALSE(seen[index]) << "two entries claim slot " << index;
    seen[index] = true;
  }
  if (!heap.empty()) EXPECT_EQ(heap.Top()->heap_index, 0u);
}

TEST(TimerHeapTest, StartsEmpty) {
  TimerHeap heap;
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(heap.size(), 0u);
}

TEST(TimerHeapTest, TopIsTheEarliestDeadline) {
  std::deque<TimerEntry> entries = Entries({30, 10, 20});
  TimerHeap heap;
  for (TimerEntry& entry : entries) heap.Push(&entry);
  EXPECT_EQ(heap.size(), 3u);
  EXPECT_EQ(heap.Top(), &entries[1]);
}

TEST(TimerHeapTest, YieldsEntriesInDeadlineOrder) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int64_t> seconds(0, 1000);
  std::vector<int64_t> deadlines(200);
  for (int64_t& deadline : deadlines) deadline = seconds(rng);
  std::deque<TimerEntry> entries = Entries(deadlines);
  TimerHeap heap;
  for (TimerEntry& entry : entries) heap.Push(&entry);

  std::vector<absl::Time> expected;
  expected.reserve(deadlines.size());
  for (int64_t deadline : deadlines) expected.push_back(At(deadline));
  std::sort(expected.begin(), expected.end());
  EXPECT_THAT(DrainDeadlines(heap), ElementsAreArray(expected));
}

TEST(TimerHeapTest, RemoveTakesTheEntryOutAndMarksItUnqueued) {
  std::deque<TimerEntry> entries = Entries({10, 20, 30});
  TimerHeap heap;
  for (TimerEntry& entry : entries) heap.Push(&entry);
  heap.Remove(&entries[1]);
  EXPECT_EQ(entries[1].heap_index, TimerEntry::kNotQueued);
  EXPECT_THAT(DrainDeadlines(heap), ElementsAre(At(10), At(30)));
}

TEST(TimerHeapTest, ARemovedEntryCanBePushedAgain) {
  std::deque<TimerEntry> entries = Entries({10, 20});
  TimerHeap heap;
  for (TimerEntry& entry : entries) heap.Push(&entry);
  heap.Remove(&entries[0]);
  entries[0].deadline = At(30);
  heap.Push(&entries[0]);
  EXPECT_EQ(heap.Top(), &entries[1]);
  EXPECT_THAT(DrainDeadlines(heap), ElementsAre(At(20), At(30)));
}

TEST(TimerHeapTest, RemovingFromTheMiddleKeepsHeapOrder) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::uniform_int_distribution<int64_t> seconds(0, 100);  // with ties
    std::vector<int64_t> deadlines(64);
    for (int64_t& deadline : deadlines) deadline = seconds(rng);
    std::deque<TimerEntry> entries = Entries(deadlines);
    TimerHeap heap;
    for (TimerEntry& entry : entries) heap.Push(&entry);

    // Remove a random half, never by way of the top.
    std::vector<size_t> order(entries.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::multiset<absl::Time> reference;
    for (int64_t deadline : deadlines) reference.insert(At(deadline));
    std::vector<bool> queued(entries.size(), true);
    for (size_t k = 0; k < order.size() / 2; ++k) {
      TimerEntry& entry = entries[order[k]];
      heap.Remove(&entry);
      queued[order[k]] = false;
      reference.erase(reference.find(entry.deadline));
      ASSERT_EQ(heap.size(), reference.size());
      ASSERT_EQ(heap.Top()->deadline, *reference.begin()) << "trial " << trial;
      ExpectIndexesConsistent(heap, entries, queued);
    }
    EXPECT_THAT(DrainDeadlines(heap),
                ElementsAreArray(reference.begin(), reference.end()))
        << "trial " << trial;
  }
}

TEST(TimerHeapTest, KeepsIndexesThroughInterleavedPushesAndRemoves) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int64_t> seconds(0, 500);
  std::deque<TimerEntry> entries(100);
  std::vector<bool> queued(entries.size(), false);
  std::multiset<absl::Time> reference;
  TimerHeap heap;
  for (int step = 0; step < 2000; ++step) {
    const size_t i = std::uniform_int_distribution<size_t>(0, 99)(rng);
    TimerEntry& entry = entries[i];
    if (queued[i]) {
      heap.Remove(&entry);
      reference.erase(reference.find(entry.deadline));
    } else {
      entry.deadline = At(seconds(rng));
      heap.Push(&entry);
      reference.insert(entry.deadline);
    }
    queued[i] = !queued[i];
    ASSERT_EQ(heap.size(), reference.size()) << "step " << step;
    if (!reference.empty()) {
      ASSERT_EQ(heap.Top()->deadline, *reference.begin()) << "step " << step;
    }
    ExpectIndexesConsistent(heap, entries, queued);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_THAT(DrainDeadlines(heap),
              ElementsAreArray(reference.begin(), reference.end()));
}

}  // namespace
}  // namespace corosched::internal
