#include "server/auth/rate_limits.h"

#include <algorithm>

namespace corosched::server {

RequestRateLimiter::RequestRateLimiter(uint32_t rate, const Clock& clock,
                                       size_t max_keys)
    : rate_(rate), clock_(clock), max_keys_(max_keys) {}

bool RequestRateLimiter::TryAcquire(absl::string_view key) {
  if (rate_ == 0) return true;
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_keys_) ForgetIdle(now);
    if (buckets_.size() >= max_keys_) return true;  // see the class comment
    found = buckets_.try_emplace(key).first;
  }
  TokenBucket& bucket = found->second;
  bucket.Refill(now, rate_, /*burst=*/rate_);
  if (!bucket.HasToken()) return false;
  bucket.Take();
  return true;
}

void RequestRateLimiter::ForgetIdle(absl::Time now) {
  absl::erase_if(buckets_, [&](const auto& entry) {
    return now - entry.second.refilled() >= absl::Seconds(1);
  });
}

size_t RequestRateLimiter::key_count() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

StreamLimiter::StreamLimiter(uint32_t max_per_key)
    : max_per_key_(max_per_key), counts_(std::make_shared<Counts>()) {}

std::shared_ptr<const void> StreamLimiter::TryAcquire(absl::string_view key) {
  {
    absl::MutexLock lock(&counts_->mu);
    uint32_t& open = counts_->open[key];
    if (open >= max_per_key_) {
      if (open == 0) counts_->open.erase(key);
      return nullptr;
    }
    ++open;
  }
  // The deleter holds the counts, so a slot outliving the limiter is fine.
  // (The pointer is only non-null; nobody reads through it.)
  return std::shared_ptr<const void>(
      counts_.get(), [counts = counts_, owner = std::string(key)](const void*) {
        absl::MutexLock lock(&counts->mu);
        auto found = counts->open.find(owner);
        if (found != counts->open.end() && --found->second == 0) {
          counts->open.erase(found);
        }
      });
}

uint32_t StreamLimiter::open(absl::string_view key) const {
  absl::MutexLock lock(&counts_->mu);
  auto found = counts_->open.find(key);
  return found == counts_->open.end() ? 0 : found->second;
}

}  // namespace corosched::server
