#pragma once

#include <cstdint>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"

namespace corosched::server {

// Calls made later, on one thread of their own: what a gRPC handler or a
// stream that must not block uses to look again in a moment (a remote
// cancel waiting for another daemon to record the end, a watch of a task
// another daemon runs reading the store every 100 ms).
//
//   DelayedCalls timer(*Clock::Real());
//   timer.After(absl::Milliseconds(100), [](bool due) {
//     if (!due) { ... answer UNAVAILABLE: the daemon is stopping ...; }
//   });
//   timer.Stop();  // calls what is pending with due = false, joins
//
// Each call runs once: with `due` = true once `delay` has passed by the
// clock (a ManualClock's moves wake the thread, so tests move time instead
// of sleeping), or with false from Stop() (or After() once stopped), so a
// call that answers a client always answers. Calls run outside the lock and
// may call After again.
//
// Thread-safety: every method from any thread; Stop and destruction from
// a thread that is not the timer's.
class DelayedCalls final : private ClockListener {
 public:
  using Call = absl::AnyInvocable<void(bool due) &&>;

  explicit DelayedCalls(Clock& clock);
  ~DelayedCalls() override;
  DelayedCalls(const DelayedCalls&) = delete;
  DelayedCalls& operator=(const DelayedCalls&) = delete;

  void After(absl::Duration delay, Call call) ABSL_LOCKS_EXCLUDED(mu_);
  // Calls every pending call with due = false, then joins the thread.
  // Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void OnClockAdvanced() override ABSL_LOCKS_EXCLUDED(mu_);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  Clock& clock_;
  absl::Mutex mu_;
  // By due time, then by arrival (the sequence number keeps keys unique).
  std::map<std::pair<absl::Time, uint64_t>, Call> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // Set by After and clock moves: the thread looks at pending_ again.
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace corosched::server
