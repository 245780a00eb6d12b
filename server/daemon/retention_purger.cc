#include "server/daemon/retention_purger.h"

#include <algorithm>
#include <utility>

#include "absl/synchronization/notification.h"
#include "server/daemon/logging.h"
#include "spdlog/spdlog.h"

namespace corosched::server {

absl::Duration RetentionPurger::IntervalFor(absl::Duration retention) {
  return std::clamp(retention / 8, absl::Seconds(1), absl::Minutes(5));
}

RetentionPurger::RetentionPurger(PurgeableStore& store, const Clock& clock,
                                 absl::Duration retention,
                                 absl::Duration interval)
    : store_(store),
      clock_(clock),
      retention_(retention),
      interval_(interval),
      thread_([this] { Run(); }) {}

RetentionPurger::~RetentionPurger() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void RetentionPurger::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_);
      if (stop_) return;
    }
    PurgeOnce();
  }
}

absl::StatusOr<int> RetentionPurger::PurgeRound(absl::Time cutoff) {
  absl::Notification purged;
  absl::StatusOr<int> deleted;
  store_.PurgeFinishedBeforeAsync(cutoff, kRoundTasks,
                                  [&](absl::StatusOr<int> result) {
                                    deleted = std::move(result);
                                    purged.Notify();
                                  });
  purged.WaitForNotification();
  return deleted;
}

void RetentionPurger::PurgeOnce() {
  const absl::Time cutoff = clock_.Now() - retention_;
  for (;;) {
    absl::StatusOr<int> deleted = PurgeRound(cutoff);
    if (!deleted.ok()) {
      spdlog::warn("event=retention_purge_failed {}",
                   LogStatus(deleted.status()));
      return;
    }
    purged_.fetch_add(static_cast<uint64_t>(*deleted),
                      std::memory_order_relaxed);
    if (*deleted > 0) {
      spdlog::debug("event=retention_purge deleted={}", *deleted);
    }
    if (*deleted < kRoundTasks) return;
    absl::MutexLock lock(&mu_);
    if (stop_) return;
  }
}

}  // namespace corosched::server
