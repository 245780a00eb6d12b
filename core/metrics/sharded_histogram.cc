#include "core/metrics/sharded_histogram.h"

#include <algorithm>
#include <limits>

#include "core/metrics/sharded_counter.h"

namespace corosched {

ShardedHistogram::ShardedHistogram(int shards)
    : num_shards_(std::max(shards, 1)),
      shards_(std::make_unique<Shard[]>(static_cast<size_t>(num_shards_))) {}

size_t ShardedHistogram::BucketIndex(int64_t value_ns) {
  return static_cast<size_t>(std::lower_bound(kLatencyBucketBoundsNs.begin(),
                                              kLatencyBucketBoundsNs.end(),
                                              value_ns) -
                             kLatencyBucketBoundsNs.begin());
}

void ShardedHistogram::RecordFromAnyThread(int64_t value_ns) {
  const ThreadShard shard = ThisThreadShard();
  if (shard.exclusive && num_shards_ == kShardsWithOverflow) {
    Record(shard.index, value_ns);  // the thread's own shard: one writer
    return;
  }
  Shard& s = shards_[static_cast<size_t>(shard.index % num_shards_)];
  const int64_t clamped = value_ns < 0 ? 0 : value_ns;
  // Relaxed, as in Bump: each counter is read on its own (see Invariants);
  // the read-modify-write keeps threads that share a shard exact.
  s.buckets[BucketIndex(clamped)].fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<uint64_t>(clamped), std::memory_order_relaxed);
}

prometheus::ClientMetric::Histogram ShardedHistogram::Snapshot() const {
  std::array<uint64_t, kBuckets> counts{};
  uint64_t sum_ns = 0;
  for (int i = 0; i < num_shards_; ++i) {
    const Shard& shard = shards_[static_cast<size_t>(i)];
    for (size_t b = 0; b < kBuckets; ++b) {
      counts[b] += shard.buckets[b].load(std::memory_order_relaxed);
    }
    sum_ns += shard.sum_ns.load(std::memory_order_relaxed);
  }

  prometheus::ClientMetric::Histogram histogram;
  histogram.bucket.reserve(kBuckets);
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    cumulative += counts[b];
    const double upper_bound = b < kLatencyBucketBoundsNs.size()
                                   ? double(kLatencyBucketBoundsNs[b]) / 1e9
                                   : std::numeric_limits<double>::infinity();
    histogram.bucket.push_back({cumulative, upper_bound});
  }
  histogram.sample_count = cumulative;
  histogram.sample_sum = double(sum_ns) / 1e9;
  return histogram;
}

}  // namespace corosched
