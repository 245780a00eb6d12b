#pragma once

#include <atomic>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/executor.h"

namespace corosched::testing {

// Counts live instances exactly: a moved-from Tracked does not count, so
// "constructed == destroyed" means every future was destroyed exactly once.
class Tracked {
 public:
  explicit Tracked(std::atomic<int>* live) : live_(live) {
    live_->fetch_add(1, std::memory_order_relaxed);
  }
  Tracked(Tracked&& other) noexcept
      : live_(std::exchange(other.live_, nullptr)) {}
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() {
    if (live_ != nullptr) live_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<int>* live_;
};

// Yields `yields` times (waking itself each time), then is Ready. With
// `busy`, each poll first keeps its worker busy that long.
class YieldTimes {
 public:
  using Output = int;
  YieldTimes(int yields, std::atomic<int>* live,
             absl::Duration busy = absl::ZeroDuration())
      : left_(yields), busy_(busy), tracked_(live) {}

  corosched::Poll<int> Poll(Context& cx) {
    if (busy_ > absl::ZeroDuration()) {
      const absl::Time until = absl::Now() + busy_;
      while (absl::Now() < until) {
      }
    }
    if (left_ == 0) return corosched::Poll<int>::Ready(7);
    --left_;
    cx.waker().WakeByRef();
    return corosched::Poll<int>::Pending();
  }

 private:
  int left_;
  absl::Duration busy_;
  Tracked tracked_;
};

// Pending until `notify` is notified; counts its polls.
class WaitForNotify {
 public:
  using Output = void;
  WaitForNotify(Notify* notify, std::atomic<int>* live)
      : notified_(notify->Wait()), tracked_(live) {}

  corosched::Poll<void> Poll(Context& cx) { return notified_.Poll(cx); }

 private:
  Notify::Notified notified_;
  Tracked tracked_;
};

}  // namespace corosched::testing
