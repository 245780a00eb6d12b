#include "core/metrics/sharded_counter.h"

#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/barrier.h"
#include "core/metrics/sharded_histogram.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

// Runs `threads` threads at once; each reports its shard while all of them
// are alive.
std::vector<ThreadShard> ShardsOfLiveThreads(int threads) {
  std::vector<ThreadShard> shards(static_cast<size_t>(threads));
  absl::Barrier* all_asked = new absl::Barrier(threads);
  absl::Barrier* all_done = new absl::Barrier(threads);
  std::vector<std::thread> running;
  running.reserve(shards.size());
  for (int i = 0; i < threads; ++i) {
    running.emplace_back([&, i] {
      shards[size_t(i)] = ThisThreadShard();
      // Block() deletes the barrier once every thread passed it.
      if (all_asked->Block()) delete all_asked;
      if (all_done->Block()) delete all_done;
    });
  }
  for (std::thread& thread : running) thread.join();
  return shards;
}

TEST(ShardedCounterTest, SumsAddsFromEveryThread) {
  ShardedCounter counter;
  EXPECT_EQ(counter.Value(), 0);
  counter.Add(5);
  std::vector<std::thread> threads;
  threads.reserve(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&counter] { counter.Add(10); });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), 35);
}

TEST(ShardedCounterTest, NegativeDeltasMakeAGauge) {
  ShardedCounter held;
  held.Add(3);
  std::thread([&held] { held.Add(-2); }).join();
  EXPECT_EQ(held.Value(), 1);
}

TEST(ShardedCounterTest, EachLiveThreadOwnsItsShardAlone) {
  const std::vector<ThreadShard> shards = ShardsOfLiveThreads(8);
  std::set<int> indexes;
  for (const ThreadShard& shard : shards) {
    EXPECT_TRUE(shard.exclusive);
    EXPECT_GE(shard.index, 0);
    EXPECT_LT(shard.index, kThreadShards);
    indexes.insert(shard.index);
  }
  EXPECT_EQ(indexes.size(), shards.size());
  const ThreadShard mine = ThisThreadShard();
  EXPECT_EQ(ThisThreadShard().index, mine.index);  // kept while alive
}

TEST(ShardedCounterTest, ThreadsBeyondTheShardsShareTheOverflowShard) {
  ASSERT_TRUE(ThisThreadShard().exclusive);  // this thread holds one
  const std::vector<ThreadShard> shards =
      ShardsOfLiveThreads(kThreadShards + 6);
  std::set<int> exclusive;
  int overflow = 0;
  for (const ThreadShard& shard : shards) {
    if (shard.exclusive) {
      EXPECT_TRUE(exclusive.insert(shard.index).second) << shard.index;
    } else {
      EXPECT_EQ(shard.index, kThreadShards);
      ++overflow;
    }
  }
  // This thread holds a shard too, so at least 7 had none left.
  EXPECT_GE(overflow, 7);
  // Every shard is given back at exit: a new batch finds free ones again.
  for (const ThreadShard& shard : ShardsOfLiveThreads(4)) {
    EXPECT_TRUE(shard.exclusive);
  }
}

TEST(ShardedCounterTest, AShardGivenBackKeepsItsCount) {
  ShardedCounter counter;
  for (int i = 0; i < 3 * kThreadShards; ++i) {
    std::thread([&counter] { counter.Add(2); }).join();
  }
  EXPECT_EQ(counter.Value(), 6 * kThreadShards);
}

TEST(ShardedHistogramTest, RecordFromAnyThreadCountsEveryThread) {
  for (int shards : {kShardsWithOverflow, 4}) {
    ShardedHistogram histogram(shards);
    std::vector<std::thread> threads;
    threads.reserve(6);
    for (int i = 0; i < 6; ++i) {
      threads.emplace_back([&histogram] {
        histogram.RecordFromAnyThread(2'000);      // <= 2.5us
        histogram.RecordFromAnyThread(3'000'000);  // <= 5ms
      });
    }
    for (std::thread& thread : threads) thread.join();
    const prometheus::ClientMetric::Histogram h = histogram.Snapshot();
    EXPECT_EQ(h.sample_count, 12u) << shards;
    EXPECT_EQ(h.bucket[ShardedHistogram::BucketIndex(2'000)].cumulative_count,
              6u);
    EXPECT_DOUBLE_EQ(h.sample_sum, 6 * (2'000 + 3'000'000) / 1e9);
  }
}

}  // namespace
}  // namespace corosched
