// Stress tests for ShardedCounter and ShardedHistogram::RecordFromAnyThread
// under ThreadSanitizer (`make test` runs them in the TSan build): waves of
// more threads than shards, so some share the overflow shard and every
// shard is given back and claimed again, add while another thread reads.
// Every count is exact at the end, so a lost update fails it.

#include <atomic>
#include <thread>
#include <vector>

#include "core/metrics/sharded_counter.h"
#include "core/metrics/sharded_histogram.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

constexpr int kThreads = kThreadShards + 8;
constexpr int kWaves = 3;
constexpr int kAddsPerThread = 5'000;

TEST(ShardedCounterStressTest, SharedShardsLoseNoAddWhileRead) {
  ShardedCounter counter;
  ShardedHistogram histogram(kShardsWithOverflow);
  std::atomic<bool> done{false};
  int decreases = 0;
  std::thread reader([&] {
    int64_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      const int64_t now = counter.Value();
      if (now < last) ++decreases;
      last = now;
      const auto h = histogram.Snapshot();
      if (h.bucket.back().cumulative_count != h.sample_count) ++decreases;
    }
  });
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::thread> writers;
    writers.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&counter, &histogram, t] {
        for (int i = 0; i < kAddsPerThread; ++i) {
          counter.Add(1);
          histogram.RecordFromAnyThread(int64_t{1000} * (t + i % 7));
        }
      });
    }
    for (std::thread& writer : writers) writer.join();
  }
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(decreases, 0);
  EXPECT_EQ(counter.Value(), int64_t{kWaves} * kThreads * kAddsPerThread);
  EXPECT_EQ(histogram.Snapshot().sample_count,
            uint64_t{kWaves} * kThreads * kAddsPerThread);
}

}  // namespace
}  // namespace corosched
