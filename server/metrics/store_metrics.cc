#include "server/metrics/store_metrics.h"

#include <utility>

#include "core/metrics/latency_buckets.h"
#include "core/metrics/metric_families.h"

namespace corosched::server {
namespace {

// 1, 2, 4 ... 512: GroupCommitOptions' default max_batch_writes.
std::vector<double> BatchSizeBounds() {
  std::vector<double> bounds;
  for (double bound = 1; bound <= 512; bound *= 2) bounds.push_back(bound);
  return bounds;
}

}  // namespace

StoreMetrics::StoreMetrics()
    : commit_duration_(LatencyBucketBoundsSeconds()),
      batch_size_(BatchSizeBounds()) {}

void StoreMetrics::OnCommit(const CommitStats& stats) {
  commit_duration_.Observe(absl::ToDoubleSeconds(stats.duration));
  batch_size_.Observe(stats.writes);
}

void StoreMetrics::OnStorageFailure(const absl::Status&) {
  // Relaxed: a counter orders nothing else.
  failures_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<prometheus::MetricFamily> StoreMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  families.push_back(HistogramFamily(
      "corosched_store_commit_duration_seconds",
      "Time one group commit to the store took, fsync included.",
      commit_duration_.Collect().histogram));
  families.push_back(
      HistogramFamily("corosched_store_commit_batch_size",
                      "Writes (submits, wakes, progress) made durable by one "
                      "group commit.",
                      batch_size_.Collect().histogram));
  families.push_back(
      CounterFamily("corosched_store_commit_failures_total",
                    "Storage failures of the group-commit writer (its "
                    "requests were refused, not acknowledged).",
                    double(failures_.load(std::memory_order_relaxed))));
  return families;
}

}  // namespace corosched::server
