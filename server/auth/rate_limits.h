#pragma once

// The limits the authorizer applies once it knows who calls: requests per
// second per key (RequestRateLimiter: a principal, or a connection's peer)
// and concurrent streams per principal (StreamLimiter).
//
//   RequestRateLimiter per_principal(/*rate=*/100, clock);
//   if (!per_principal.TryAcquire("ci")) { RESOURCE_EXHAUSTED }
//
//   StreamLimiter streams(/*max_per_key=*/1000);
//   std::shared_ptr<const void> slot = streams.TryAcquire("ci");
//   if (slot == nullptr) { RESOURCE_EXHAUSTED }
//   ... the stream runs; dropping the last copy of `slot` gives it back ...
//
// Thread-safety: every method from any thread (one short lock each).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "core/time/token_bucket.h"

namespace corosched::server {

// A token bucket per key: `rate` requests per second, in bursts of up to
// `rate`. Memory is bounded: past `max_keys` keys, keys whose bucket has
// refilled (idle for a second or more) are forgotten, which changes
// nothing for them; if every key is busy, a new key is let through
// without a bucket rather than growing the map.
class RequestRateLimiter {
 public:
  // `rate` 0: unlimited (TryAcquire is always true and keeps nothing).
  RequestRateLimiter(uint32_t rate, const Clock& clock,
                     size_t max_keys = 65536);

  // Takes one request from `key`'s bucket; false when it is empty.
  bool TryAcquire(absl::string_view key);

  size_t key_count() const;

 private:
  // Forgets the keys whose bucket is full again.
  void ForgetIdle(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint32_t rate_;
  const Clock& clock_;
  const size_t max_keys_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, TokenBucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// Counts open streams per key, up to `max_per_key` each.
class StreamLimiter {
 public:
  explicit StreamLimiter(uint32_t max_per_key);

  // A slot, given back when its last copy is destroyed (even after this
  // limiter is gone); null when `key` holds max_per_key already.
  std::shared_ptr<const void> TryAcquire(absl::string_view key);

  // Streams `key` holds now.
  uint32_t open(absl::string_view key) const;

 private:
  struct Counts {
    mutable absl::Mutex mu;
    // Keys with no open stream are erased, so the map holds only holders.
    absl::flat_hash_map<std::string, uint32_t> open ABSL_GUARDED_BY(mu);
  };

  const uint32_t max_per_key_;
  const std::shared_ptr<Counts> counts_;
};

}  // namespace corosched::server
