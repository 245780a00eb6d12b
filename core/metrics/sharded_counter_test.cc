#include "core/metrics/sharded_counter.h"

#include <set>
#include <thread>
#include <vector>

#include "core/metrics/sharded_histogram.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

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

TEST(ShardedCounterTest, ThreadsTakeDifferentShardsUntilTheyRunOut) {
  std::set<int> shards;
  for (int i = 0; i < kThreadShards; ++i) {
    std::thread([&shards] { shards.insert(ThisThreadShard()); }).join();
  }
  // kThreadShards threads in a row, each asking once: every shard taken.
  EXPECT_EQ(shards.size(), static_cast<size_t>(kThreadShards));
  const int mine = ThisThreadShard();
  EXPECT_EQ(ThisThreadShard(), mine);  // a thread keeps its shard
}

TEST(ShardedHistogramTest, RecordFromAnyThreadCountsEveryThread) {
  ShardedHistogram histogram(4);
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
  EXPECT_EQ(h.sample_count, 12u);
  EXPECT_EQ(h.bucket[ShardedHistogram::BucketIndex(2'000)].cumulative_count,
            6u);
  EXPECT_DOUBLE_EQ(h.sample_sum, 6 * (2'000 + 3'000'000) / 1e9);
}

}  // namespace
}  // namespace corosched
