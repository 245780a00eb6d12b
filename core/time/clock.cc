#include "core/time/clock.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace corosched {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  absl::Duration RealTimeUntil(absl::Time deadline) const override {
    return deadline - absl::Now();
  }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* const clock = new RealClock();
  return clock;
}

absl::Time ManualClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

absl::Duration ManualClock::RealTimeUntil(absl::Time deadline) const {
  (void)deadline;
  return absl::InfiniteDuration();
}

void ManualClock::AddListener(ClockListener* listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.push_back(listener);
}

void ManualClock::RemoveListener(ClockListener* listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener),
                   listeners_.end());
}

void ManualClock::Advance(absl::Duration delta) {
  absl::MutexLock listeners_lock(&listeners_mu_);
  {
    absl::MutexLock lock(&mu_);
    now_ += std::max(delta, absl::ZeroDuration());
  }
  for (ClockListener* listener : listeners_) listener->OnClockAdvanced();
}

}  // namespace corosched
