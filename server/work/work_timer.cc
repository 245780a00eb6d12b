#include "server/work/work_timer.h"

#include <algorithm>

namespace corosched::server {
namespace {

// The longest the thread sleeps without looking again: a bound on what a
// missed wake-up could cost, never needed when Rearm is called as it must.
constexpr absl::Duration kMaxSleep = absl::Seconds(1);

}  // namespace

WorkTimer::WorkTimer(Clock& clock, WorkQueues& queues)
    : clock_(clock), queues_(queues) {
  clock_.AddListener(this);
  thread_ = std::thread([this] { Loop(); });
}

WorkTimer::~WorkTimer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  clock_.RemoveListener(this);
}

void WorkTimer::Rearm(absl::Time /*deadline*/) {
  absl::MutexLock lock(&mu_);
  poked_ = true;
}

void WorkTimer::OnClockAdvanced() {
  absl::MutexLock lock(&mu_);
  poked_ = true;
}

void WorkTimer::Loop() {
  while (true) {
    // Due items first: an expiry's outcome may make a new deadline, which
    // NextDeadline() below sees.
    queues_.ExpireDue();
    const absl::Time next = queues_.NextDeadline();
    const absl::Duration wait = std::min(kMaxSleep, clock_.RealTimeUntil(next));
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return poked_ || stopping_;
    };
    if (wait > absl::ZeroDuration()) {
      mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
    }
    if (stopping_) return;
    poked_ = false;
  }
}

}  // namespace corosched::server
