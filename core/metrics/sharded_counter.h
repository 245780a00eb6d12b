#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace corosched {

// The shard the calling thread writes to, in [0, kThreadShards): threads
// take shards round robin in the order they first ask, so the few threads
// that write a metric often (executor workers, gRPC's threads) each land on
// their own. More threads than shards share, which costs contention, never
// correctness: writers to a shard use atomic read-modify-writes.
inline constexpr int kThreadShards = 16;
int ThisThreadShard();

// A counter (or, added to with negative deltas, a gauge) that any thread
// updates without contending with the others: each thread adds to its own
// shard (ThisThreadShard), on a cache line of its own, and a read sums the
// shards. For metrics updated on hot paths by many threads at once.
//
//   ShardedCounter submitted;
//   submitted.Add(1);                   // any thread
//   int64_t total = submitted.Value();  // any thread, e.g. at scrape time
//
// Thread-safety: every method from any thread.
//
// Invariants: Value() is the sum of every Add that happened before it; an
// Add concurrent with it may or may not be in it. For a counter (only
// positive deltas) successive reads never go down; a gauge's read may be
// off by the deltas in flight, even below zero for a moment.
class ShardedCounter {
 public:
  ShardedCounter();
  ShardedCounter(const ShardedCounter&) = delete;
  ShardedCounter& operator=(const ShardedCounter&) = delete;

  void Add(int64_t delta) {
    // Relaxed: a counter orders nothing else, and each shard is read on
    // its own (see Invariants).
    shards_[static_cast<size_t>(ThisThreadShard())].value.fetch_add(
        delta, std::memory_order_relaxed);
  }

  int64_t Value() const;

 private:
  // alignas(64): a shard fills a cache line of its own, so two threads'
  // shards never share one.
  struct alignas(64) Shard {
    std::atomic<int64_t> value{0};
  };

  std::unique_ptr<Shard[]> shards_;
};

}  // namespace corosched
