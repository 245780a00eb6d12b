#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/metrics/latency_buckets.h"
#include "prometheus/client_metric.h"

namespace corosched {

// A latency histogram split into shards, one per writing thread (a worker),
// each on cache lines of its own, summed only when read. Recording is a few
// plain loads and stores: no locked instruction, no shared cache line, so
// workers never contend on it.
//
//   ShardedHistogram delays(/*shards=*/workers);
//   delays.Record(worker, absl::ToInt64Nanoseconds(delay));  // on `worker`
//   prometheus::ClientMetric::Histogram h = delays.Snapshot();  // any thread
//
// When the writers are not a fixed set of threads (gRPC's, the executor's
// and the timer's at once), construct it with kShardsWithOverflow shards
// and use RecordFromAnyThread: each thread records into the shard it owns
// (ThisThreadShard) with the same plain stores, and threads beyond
// kThreadShards share the overflow shard with atomic adds.
//
// Buckets are kLatencyBucketBoundsNs plus +Inf; values are nanoseconds, the
// snapshot is in seconds.
//
// Thread-safety: a histogram is written in one of two ways, never both:
// Record(shard, ...) from at most one thread per shard at a time
// (REQUIRES), or RecordFromAnyThread from any thread. Snapshot from any
// thread, concurrently with either.
//
// Invariants:
//   - every shard counter only grows, so each snapshot bucket is at least
//     what an earlier snapshot read;
//   - the snapshot's count is the sum of its buckets, so the +Inf bucket
//     always equals the count (the sum may trail or lead them by the
//     samples being recorded while it reads).
class ShardedHistogram {
 public:
  static constexpr size_t kBuckets = kLatencyBucketBoundsNs.size() + 1;

  explicit ShardedHistogram(int shards);
  ShardedHistogram(const ShardedHistogram&) = delete;
  ShardedHistogram& operator=(const ShardedHistogram&) = delete;

  // REQUIRES: 0 <= shard < shards(), and no other thread records into
  // `shard` concurrently. A negative value (a clock step) counts as 0.
  void Record(int shard, int64_t value_ns) {
    Shard& s = shards_[static_cast<size_t>(shard)];
    const int64_t clamped = value_ns < 0 ? 0 : value_ns;
    Bump(s.buckets[BucketIndex(clamped)], 1);
    Bump(s.sum_ns, static_cast<uint64_t>(clamped));
  }

  // From any thread. REQUIRES: nothing calls Record on this histogram.
  // With fewer than kShardsWithOverflow shards every record is an atomic
  // add (still exact).
  void RecordFromAnyThread(int64_t value_ns);

  // Cumulative buckets (upper bounds in seconds, last +Inf), count and sum.
  prometheus::ClientMetric::Histogram Snapshot() const;

  int shards() const { return num_shards_; }

  // The bucket a value lands in: the first bound >= value_ns (Prometheus
  // buckets are "less or equal"), or kBuckets - 1 (+Inf).
  static size_t BucketIndex(int64_t value_ns);

 private:
  // Relaxed is enough: one writer per shard, so a load-add-store cannot lose
  // an update, and readers need no ordering with anything else (each counter
  // is read on its own; see Invariants).
  static void Bump(std::atomic<uint64_t>& counter, uint64_t by) {
    counter.store(counter.load(std::memory_order_relaxed) + by,
                  std::memory_order_relaxed);
  }

  // alignas(64): a shard starts its own cache line, so two workers' shards
  // never share one (the array's size is a multiple of 64 too).
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};
    std::atomic<uint64_t> sum_ns{0};
  };
  static_assert(sizeof(Shard) % 64 == 0, "a shard fills whole cache lines");

  const int num_shards_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace corosched
