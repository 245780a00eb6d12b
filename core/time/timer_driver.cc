#include "core/time/timer_driver.h"

#include <vector>

namespace corosched {

TimerDriver::TimerDriver(Clock* clock) : clock_(clock) {
  clock_->AddListener(this);
  thread_ = std::thread([this] { Run(); });
}

TimerDriver::~TimerDriver() {
  clock_->RemoveListener(this);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  thread_.join();
}

Poll<void> TimerDriver::PollEntry(internal::TimerEntry* entry,
                                  const Waker& waker) {
  absl::MutexLock lock(&mu_);
  if (entry->fired) return Poll<void>::Ready();
  if (clock_->Now() >= entry->deadline) {
    if (entry->heap_index != internal::TimerEntry::kNotQueued) {
      heap_.Remove(entry);
    }
    entry->fired = true;
    entry->waker = Waker();
    return Poll<void>::Ready();
  }
  if (!entry->waker.WillWake(waker)) entry->waker = waker;
  if (entry->heap_index == internal::TimerEntry::kNotQueued) {
    heap_.Push(entry);
    // A new earliest deadline: the driver thread must shorten its sleep.
    if (heap_.Top() == entry) cv_.Signal();
  }
  return Poll<void>::Pending();
}

void TimerDriver::CancelEntry(internal::TimerEntry* entry) {
  Waker dropped;
  absl::MutexLock lock(&mu_);
  if (entry->heap_index != internal::TimerEntry::kNotQueued) {
    heap_.Remove(entry);
  }
  dropped = std::move(entry->waker);
}

size_t TimerDriver::NumPending() const {
  absl::MutexLock lock(&mu_);
  return heap_.size();
}

uint64_t TimerDriver::NumFired() const {
  absl::MutexLock lock(&mu_);
  return fired_;
}

void TimerDriver::OnClockAdvanced() { FireExpired(); }

void TimerDriver::FireExpired() {
  std::vector<Waker> due;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    while (!heap_.empty() && heap_.Top()->deadline <= now) {
      internal::TimerEntry* entry = heap_.Top();
      heap_.Remove(entry);
      entry->fired = true;
      due.push_back(std::move(entry->waker));
    }
    fired_ += due.size();
  }
  // Woken outside the lock: a wake may schedule a task, which takes other
  // locks, and the woken task may poll its Sleep at once.
  for (Waker& waker : due) std::move(waker).Wake();
}

// Fires timers of a real clock: sleeps until the earliest deadline, then
// fires what is due. A clock that moves only by hand fires from Advance()
// alone (RealTimeUntil is infinite), so Advance returns only after every
// wake it made due was issued, never racing this thread for them.
void TimerDriver::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) return;
        if (heap_.empty()) {
          cv_.Wait(&mu_);
          continue;
        }
        const absl::Duration wait =
            clock_->RealTimeUntil(heap_.Top()->deadline);
        if (wait <= absl::ZeroDuration()) break;
        if (wait == absl::InfiniteDuration()) {
          cv_.Wait(&mu_);
        } else {
          cv_.WaitWithTimeout(&mu_, wait);
        }
      }
    }
    FireExpired();
  }
}

}  // namespace corosched
