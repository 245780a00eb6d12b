#include "core/metrics/sharded_counter.h"

#include <bit>

namespace corosched {
namespace {

static_assert(kThreadShards == 64, "the claimed mask is one 64-bit word");

// Bit i set: shard i belongs to a live thread.
std::atomic<uint64_t> claimed_shards{0};

constexpr int kUnclaimed = -1;
// Trivially destructible, so still readable while other thread_locals are
// destroyed at thread exit (ReleaseAtExit points it at the overflow shard).
thread_local int tls_shard = kUnclaimed;
thread_local bool tls_exclusive = false;

// Gives the thread's shard back when the thread exits.
struct ReleaseAtExit {
  ~ReleaseAtExit() {
    if (!tls_exclusive) return;
    tls_exclusive = false;
    // Release: this thread's stores to the shard happen before the next
    // owner's acquire CAS claims it (see the header's Invariants).
    claimed_shards.fetch_and(~(uint64_t{1} << tls_shard),
                             std::memory_order_release);
    tls_shard = kThreadShards;  // late updates go to the overflow shard
  }
};

ThreadShard ClaimShard() {
  uint64_t claimed = claimed_shards.load(std::memory_order_relaxed);
  while (claimed != ~uint64_t{0}) {
    const int free = std::countr_one(claimed);
    // Acquire: see the stores of the thread that released this shard.
    if (claimed_shards.compare_exchange_weak(
            claimed, claimed | (uint64_t{1} << free), std::memory_order_acquire,
            std::memory_order_relaxed)) {
      tls_shard = free;
      tls_exclusive = true;
      thread_local ReleaseAtExit release;
      (void)&release;  // constructed here, destroyed at thread exit
      return {free, true};
    }
  }
  tls_shard = kThreadShards;
  tls_exclusive = false;
  return {kThreadShards, false};
}

}  // namespace

ThreadShard ThisThreadShard() {
  if (tls_shard != kUnclaimed) [[likely]] {
    return {tls_shard, tls_exclusive};
  }
  return ClaimShard();
}

ShardedCounter::ShardedCounter()
    : shards_(std::make_unique<Shard[]>(kShardsWithOverflow)) {}

int64_t ShardedCounter::Value() const {
  int64_t sum = 0;
  for (int i = 0; i < kShardsWithOverflow; ++i) {
    sum += shards_[size_t(i)].value.load(std::memory_order_relaxed);
  }
  return sum;
}

}  // namespace corosched
