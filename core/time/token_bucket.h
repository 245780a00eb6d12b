#pragma once

// A token bucket's state: up to `burst` tokens, refilled at `rate` tokens a
// second, taken one per request. Rate and burst are passed in rather than
// kept, since many buckets (one per principal, one per namespace) share
// them. A bucket is full at its first Refill.
//
//   bucket.Refill(clock.Now(), rate, burst);
//   if (!bucket.HasToken()) return Refuse();
//   bucket.Take();
//
// Thread-safety: none; the owner serializes access.

#include <algorithm>

#include "absl/time/time.h"

namespace corosched {

class TokenBucket {
 public:
  // Adds what `rate` refilled since the previous Refill, up to `burst`; a
  // clock that stepped back adds nothing.
  void Refill(absl::Time now, double rate, double burst) {
    if (refilled_ == absl::InfinitePast()) {
      tokens_ = burst;
    } else if (now > refilled_) {
      tokens_ = std::min(
          burst, tokens_ + absl::ToDoubleSeconds(now - refilled_) * rate);
    }
    refilled_ = std::max(refilled_, now);
  }

  bool HasToken() const { return tokens_ >= 1; }
  // REQUIRES: HasToken().
  void Take() { tokens_ -= 1; }
  bool Full(double burst) const { return tokens_ >= burst; }
  // The latest time given to Refill (InfinitePast before the first).
  absl::Time refilled() const { return refilled_; }

 private:
  double tokens_ = 0;
  absl::Time refilled_ = absl::InfinitePast();
};

}  // namespace corosched
