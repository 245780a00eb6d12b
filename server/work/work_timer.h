#pragma once

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "server/work/work_queues.h"

namespace corosched::server {

// The one timer WorkQueues asks its owner for (see "The timer" in
// work_queues.h): a thread that calls ExpireDue() whenever the queues'
// NextDeadline() has come, by `clock`. Rearm() is the queues'
// on_earlier_deadline callback; a ManualClock's moves wake the thread too,
// so tests drive lease expiry by moving the clock.
//
// Lifetime: construct after the queues and destroy before them (the
// destructor stops and joins the thread). Rearm may be called from any
// thread, including from inside ExpireDue's callbacks.
class WorkTimer final : private ClockListener {
 public:
  WorkTimer(Clock& clock, WorkQueues& queues);
  ~WorkTimer() override;
  WorkTimer(const WorkTimer&) = delete;
  WorkTimer& operator=(const WorkTimer&) = delete;

  // Something is due at `deadline`, earlier than the thread may be waiting
  // for: it looks again.
  void Rearm(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void OnClockAdvanced() override ABSL_LOCKS_EXCLUDED(mu_);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  Clock& clock_;
  WorkQueues& queues_;
  absl::Mutex mu_;
  // Set by Rearm and clock moves: NextDeadline() must be asked again.
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace corosched::server
