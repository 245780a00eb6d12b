#include "server/metrics/store_metrics.h"

#include "gtest/gtest.h"
#include "server/metrics/test_families.h"

namespace corosched::server {
namespace {

using testing::FindFamily;

TEST(StoreMetricsTest, EveryMetricExistsBeforeTheFirstCommit) {
  StoreMetrics metrics;
  const auto families = metrics.Collect();
  for (const char* name : {"corosched_store_commit_duration_seconds",
                           "corosched_store_commit_batch_size",
                           "corosched_store_commit_failures_total"}) {
    const prometheus::MetricFamily* family = FindFamily(families, name);
    ASSERT_NE(family, nullptr) << name;
    EXPECT_EQ(family->metric.size(), 1u) << name;
  }
  EXPECT_EQ(FindFamily(families, "corosched_store_commit_failures_total")
                ->metric[0]
                .counter.value,
            0);
}

TEST(StoreMetricsTest, RecordsCommitsAndFailures) {
  StoreMetrics metrics;
  metrics.OnCommit({.writes = 3, .duration = absl::Microseconds(800)});
  metrics.OnCommit({.writes = 40, .duration = absl::Milliseconds(12)});
  metrics.OnStorageFailure(absl::DataLossError("fsync failed"));
  const auto families = metrics.Collect();

  const auto& duration =
      FindFamily(families, "corosched_store_commit_duration_seconds")
          ->metric[0]
          .histogram;
  EXPECT_EQ(duration.sample_count, 2u);
  EXPECT_NEAR(duration.sample_sum, 0.0128, 1e-12);
  // The shared latency buckets: 1us to 10s, then +Inf.
  ASSERT_EQ(duration.bucket.size(), 23u);
  EXPECT_EQ(duration.bucket[0].upper_bound, 1e-6);
  EXPECT_EQ(duration.bucket[21].upper_bound, 10.0);
  EXPECT_EQ(duration.bucket[9].upper_bound, 1e-3);  // 800us is under it
  EXPECT_EQ(duration.bucket[9].cumulative_count, 1u);

  const auto& batch = FindFamily(families, "corosched_store_commit_batch_size")
                          ->metric[0]
                          .histogram;
  EXPECT_EQ(batch.sample_count, 2u);
  EXPECT_EQ(batch.sample_sum, 43);
  ASSERT_EQ(batch.bucket.size(), 11u);  // 1, 2, 4 ... 512, +Inf
  EXPECT_EQ(batch.bucket[2].upper_bound, 4);
  EXPECT_EQ(batch.bucket[2].cumulative_count, 1u);
  EXPECT_EQ(batch.bucket[6].upper_bound, 64);
  EXPECT_EQ(batch.bucket[6].cumulative_count, 2u);

  EXPECT_EQ(FindFamily(families, "corosched_store_commit_failures_total")
                ->metric[0]
                .counter.value,
            1);
}

}  // namespace
}  // namespace corosched::server
