#include "core/metrics/sharded_histogram.h"

#include <cmath>
#include <vector>

#include "core/metrics/latency_buckets.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

constexpr size_t kInf = ShardedHistogram::kBuckets - 1;

std::vector<uint64_t> Cumulative(const ShardedHistogram& histogram) {
  std::vector<uint64_t> counts;
  for (const auto& bucket : histogram.Snapshot().bucket) {
    counts.push_back(bucket.cumulative_count);
  }
  return counts;
}

TEST(ShardedHistogramTest, ValueOnABoundLandsInThatBucket) {
  EXPECT_EQ(ShardedHistogram::BucketIndex(0), 0u);
  EXPECT_EQ(ShardedHistogram::BucketIndex(1'000), 0u);  // le="1e-06"
  EXPECT_EQ(ShardedHistogram::BucketIndex(1'001), 1u);
  EXPECT_EQ(ShardedHistogram::BucketIndex(2'500), 1u);
  EXPECT_EQ(ShardedHistogram::BucketIndex(10'000'000'000), kInf - 1);
  EXPECT_EQ(ShardedHistogram::BucketIndex(10'000'000'001), kInf);
}

TEST(ShardedHistogramTest, BoundsRunFromAMicrosecondToTenSeconds) {
  const prometheus::ClientMetric::Histogram empty =
      ShardedHistogram(1).Snapshot();
  ASSERT_EQ(empty.bucket.size(), ShardedHistogram::kBuckets);
  EXPECT_EQ(empty.bucket.front().upper_bound, 1e-6);  // exact, not 1e-6+ulp
  EXPECT_EQ(empty.bucket[kInf - 1].upper_bound, 10.0);
  EXPECT_TRUE(std::isinf(empty.bucket[kInf].upper_bound));
  EXPECT_EQ(LatencyBucketBoundsSeconds().size(), kInf);
  EXPECT_EQ(LatencyBucketBoundsSeconds()[3], 1e-5);
}

TEST(ShardedHistogramTest, SnapshotSumsEveryShard) {
  ShardedHistogram histogram(3);
  histogram.Record(0, 500);             // bucket 0 (<= 1us)
  histogram.Record(1, 3'000);           // bucket 2 (<= 5us)
  histogram.Record(2, 3'000);           // bucket 2
  histogram.Record(2, 20'000'000);      // <= 25ms
  histogram.Record(1, 60'000'000'000);  // +Inf

  const prometheus::ClientMetric::Histogram h = histogram.Snapshot();
  EXPECT_EQ(h.sample_count, 5u);
  EXPECT_DOUBLE_EQ(h.sample_sum,
                   (500 + 3'000 + 3'000 + 20'000'000 + 60'000'000'000.0) / 1e9);
  const std::vector<uint64_t> counts = Cumulative(histogram);
  EXPECT_EQ(counts[0], 1u);
  EXPECT_EQ(counts[1], 1u);
  EXPECT_EQ(counts[2], 3u);
  EXPECT_EQ(counts[ShardedHistogram::BucketIndex(20'000'000) - 1], 3u);
  EXPECT_EQ(counts[ShardedHistogram::BucketIndex(20'000'000)], 4u);
  EXPECT_EQ(counts[kInf - 1], 4u);
  EXPECT_EQ(counts[kInf], 5u);
}

TEST(ShardedHistogramTest, NegativeValueCountsAsZero) {
  ShardedHistogram histogram(1);
  histogram.Record(0, -5'000);
  const prometheus::ClientMetric::Histogram h = histogram.Snapshot();
  EXPECT_EQ(h.bucket[0].cumulative_count, 1u);
  EXPECT_EQ(h.sample_sum, 0.0);
}

}  // namespace
}  // namespace corosched
