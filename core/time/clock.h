#pragma once

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace corosched {

// Told when a clock that moves only by hand has moved.
class ClockListener {
 public:
  virtual ~ClockListener() = default;
  virtual void OnClockAdvanced() = 0;
};

// The source of time for timers (sleeps, timeouts, delayed starts). The
// executor never reads time any other way, so tests substitute a
// ManualClock and move time by hand instead of sleeping.
//
// Thread-safety: implementations are safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() const = 0;

  // How long, in real time, until Now() reaches `deadline`: a real clock
  // says `deadline - Now()`; a clock that moves only by hand says
  // absl::InfiniteDuration() and tells its listeners when it moves instead.
  virtual absl::Duration RealTimeUntil(absl::Time deadline) const = 0;

  // Listeners of a clock that moves by hand. A real clock ignores them.
  // REQUIRES: a listener is removed before it is destroyed.
  virtual void AddListener(ClockListener* listener) { (void)listener; }
  virtual void RemoveListener(ClockListener* listener) { (void)listener; }

  // The process-wide wall clock.
  static Clock* Real();
};

// A clock for tests: time stands still until Advance() moves it. Advance
// fires, on the calling thread and before it returns, every timer that has
// come due, so a test knows the wakes were issued when Advance returns.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch() + absl::Hours(24))
      : now_(start) {}

  absl::Time Now() const override;
  absl::Duration RealTimeUntil(absl::Time deadline) const override;
  void AddListener(ClockListener* listener) override;
  void RemoveListener(ClockListener* listener) override;

  // Moves time forward by `delta` (never backward) and notifies listeners.
  void Advance(absl::Duration delta);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  // Held while listeners run, so RemoveListener waits for a running
  // notification. Always taken before mu_.
  absl::Mutex listeners_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::vector<ClockListener*> listeners_ ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace corosched
