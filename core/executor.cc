#include "core/executor.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace corosched {

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(
    ExecutorOptions options) {
  if (options.workers < 0 || options.workers > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("workers must be between 0 (one per core) and 1024, got ",
                     options.workers));
  }
  if (options.max_tasks == 0) {
    return absl::InvalidArgumentError(
        "max_tasks must be at least 1: it bounds how many tasks may be live");
  }
  if (options.workers == 0) {
    options.workers =
        static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's
  // debug-only deadlock detector on: a global lock graph updated on every
  // Lock(), measured at 40% of the instructions of a channel ping-pong
  // (callgrind, bench/executor_bench). Lock order is checked here by
  // clang's -Wthread-safety and ThreadSanitizer instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Clock* clock = options.clock != nullptr ? options.clock : Clock::Real();
  return std::unique_ptr<Executor>(new Executor(options, clock));
}

Executor::Executor(ExecutorOptions options, Clock* clock)
    : clock_(clock),
      timers_(std::make_unique<TimerDriver>(clock)),
      scheduler_(std::make_shared<internal::Scheduler>(
          options.workers, options.max_tasks, options.observer,
          options.park_yields)) {
  scheduler_->Start();
}

Executor::~Executor() { Shutdown(ShutdownMode::kCancel); }

ExecutorStats Executor::Stats() const {
  ExecutorStats stats = scheduler_->Stats();
  stats.timer_wakes = timers_->NumFired();
  return stats;
}

void Executor::Shutdown(ShutdownMode mode, absl::Duration drain_timeout) {
  scheduler_->Shutdown(mode, drain_timeout);
}

}  // namespace corosched
