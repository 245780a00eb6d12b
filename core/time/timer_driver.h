#pragma once

#include <cstddef>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/task/poll.h"
#include "core/task/waker.h"
#include "core/time/clock.h"
#include "core/time/timer_heap.h"

namespace corosched {

// Fires timers: wakes each Sleep's task once the clock passes its deadline.
// Deadlines are absolute times of the injected Clock, so a timer set before
// a restart and restored after it keeps its original deadline.
//
// A real clock is watched by the driver's own thread, which sleeps until
// the earliest deadline. A ManualClock fires timers from Advance() on the
// caller's thread; the driver thread then only waits.
//
// Thread-safety: all methods from any thread. The driver must outlive every
// Sleep made from it (the Executor that owns it guarantees that for tasks:
// it drops every future before destroying the driver).
class TimerDriver final : public ClockListener {
 public:
  explicit TimerDriver(Clock* clock);
  ~TimerDriver() override;
  TimerDriver(const TimerDriver&) = delete;
  TimerDriver& operator=(const TimerDriver&) = delete;

  Clock* clock() const { return clock_; }

  // Ready once the entry's deadline passed; otherwise the entry is queued
  // (if it was not) to wake `waker`, replacing the Waker it had.
  Poll<void> PollEntry(internal::TimerEntry* entry, const Waker& waker);
  // Unqueues the entry; it will not fire.
  void CancelEntry(internal::TimerEntry* entry);

  // Number of queued timers, for metrics and tests.
  size_t NumPending() const;
  // Timers that fired (woke their task) since the driver started; a timer
  // found due when its task polled it does not count: nothing woke the task.
  uint64_t NumFired() const;

  void OnClockAdvanced() override;

 private:
  void Run();
  // Unqueues every due entry and wakes it, outside the lock.
  void FireExpired();

  Clock* const clock_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  internal::TimerHeap heap_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t fired_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace corosched
