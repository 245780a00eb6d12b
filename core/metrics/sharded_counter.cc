#include "core/metrics/sharded_counter.h"

namespace corosched {
namespace {

std::atomic<int> next_thread_shard{0};

}  // namespace

int ThisThreadShard() {
  // Relaxed: the shard number only spreads threads; it publishes nothing.
  thread_local const int shard =
      next_thread_shard.fetch_add(1, std::memory_order_relaxed) % kThreadShards;
  return shard;
}

ShardedCounter::ShardedCounter()
    : shards_(std::make_unique<Shard[]>(kThreadShards)) {}

int64_t ShardedCounter::Value() const {
  int64_t sum = 0;
  for (int i = 0; i < kThreadShards; ++i) {
    sum +=
        shards_[static_cast<size_t>(i)].value.load(std::memory_order_relaxed);
  }
  return sum;
}

}  // namespace corosched
