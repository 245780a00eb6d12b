#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace corosched {

// Per-thread shards for metrics that many threads update (executor workers,
// gRPC's threads, the timer thread): each live thread owns one of
// kThreadShards shards, so it can update it with a plain load and store (no
// locked instruction, no cache line shared with another writer), and a
// reader sums every shard.
//
// A thread claims a free shard the first time it asks and gives it back
// when it exits; the next thread to claim it continues its counts. Threads
// that find every shard taken share one overflow shard (index
// kThreadShards) and update it with atomic read-modify-writes: slower,
// never wrong.
//
// Invariants:
//  - at most one live thread holds a shard with exclusive = true, so its
//    plain load-add-store cannot lose another thread's update;
//  - a thread's release of its shard (a release RMW on the claimed mask)
//    happens before the next claim of it (an acquire CAS), so the next
//    owner's first load sees the last owner's last store.
inline constexpr int kThreadShards = 64;
inline constexpr int kShardsWithOverflow = kThreadShards + 1;

struct ThreadShard {
  int index = 0;           // [0, kShardsWithOverflow)
  bool exclusive = false;  // false: the overflow shard, shared
};

ThreadShard ThisThreadShard();

// A counter (or, added to with negative deltas, a gauge) that any thread
// updates without contending with the others, summed when read.
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
    const ThreadShard shard = ThisThreadShard();
    std::atomic<int64_t>& value = shards_[size_t(shard.index)].value;
    // Relaxed: a counter orders nothing else, and each shard is read on
    // its own (see Invariants); the shard's owner is its only writer.
    if (shard.exclusive) {
      value.store(value.load(std::memory_order_relaxed) + delta,
                  std::memory_order_relaxed);
    } else {
      value.fetch_add(delta, std::memory_order_relaxed);
    }
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
