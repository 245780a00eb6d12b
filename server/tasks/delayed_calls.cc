#include "server/tasks/delayed_calls.h"

#include <algorithm>
#include <vector>

namespace corosched::server {
namespace {

// The longest the thread sleeps without looking again: a bound on what a
// missed wake-up could cost, never needed when After pokes it as it must.
constexpr absl::Duration kMaxSleep = absl::Seconds(1);

}  // namespace

DelayedCalls::DelayedCalls(Clock& clock) : clock_(clock) {
  clock_.AddListener(this);
  thread_ = std::thread([this] { Loop(); });
}

DelayedCalls::~DelayedCalls() {
  Stop();
  clock_.RemoveListener(this);
}

void DelayedCalls::After(absl::Duration delay, Call call) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      pending_.emplace(std::make_pair(clock_.Now() + delay, next_sequence_++),
                       std::move(call));
      poked_ = true;
      return;
    }
  }
  std::move(call)(false);
}

void DelayedCalls::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  thread_.join();
  // After the join: nothing else takes from pending_, and After no longer
  // adds to it.
  std::map<std::pair<absl::Time, uint64_t>, Call> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(pending_);
  }
  for (auto& [key, call] : left) std::move(call)(false);
}

void DelayedCalls::OnClockAdvanced() {
  absl::MutexLock lock(&mu_);
  poked_ = true;
}

void DelayedCalls::Loop() {
  while (true) {
    std::vector<Call> due;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time now = clock_.Now();
      while (!pending_.empty() && pending_.begin()->first.first <= now) {
        due.push_back(std::move(pending_.begin()->second));
        pending_.erase(pending_.begin());
      }
    }
    for (Call& call : due) std::move(call)(true);
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (poked_) {
      poked_ = false;
      continue;
    }
    const absl::Duration wait =
        pending_.empty()
            ? kMaxSleep
            : std::min(kMaxSleep,
                       clock_.RealTimeUntil(pending_.begin()->first.first));
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return poked_ || stopping_;
    };
    if (wait > absl::ZeroDuration()) {
      mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
    }
    poked_ = false;
  }
}

}  // namespace corosched::server
