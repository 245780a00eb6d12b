#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "server/store/purgeable_store.h"

namespace corosched::server {

// Purges finished tasks from the durable store once they are older than
// the retention (--retention), on a thread of its own: every `interval` it
// deletes those that finished before `now - retention`, in rounds of at most
// kRoundTasks, each made of the store's small chunked deletes that queue
// behind other writes (PurgeableStore::PurgeFinishedBeforeAsync), so the writer
// is never held up by more than one small delete. Its thread waits for each
// round's answer; nothing else does. A full round is followed at once by
// another; a short one means nothing older is left.
//
// A purge that fails is logged and retried at the next interval.
//
// Thread-safety: the constructor starts the thread; the destructor stops and
// joins it. purged() from any thread.
class RetentionPurger {
 public:
  static constexpr int kRoundTasks = 10000;

  // The interval the daemon uses for `retention`: an eighth of it, from 1 s
  // to 5 min, so that a task is purged at most 12.5% late.
  static absl::Duration IntervalFor(absl::Duration retention);

  RetentionPurger(PurgeableStore& store, const Clock& clock,
                  absl::Duration retention, absl::Duration interval);
  ~RetentionPurger();
  RetentionPurger(const RetentionPurger&) = delete;
  RetentionPurger& operator=(const RetentionPurger&) = delete;

  // Tasks purged so far.
  uint64_t purged() const { return purged_.load(std::memory_order_relaxed); }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // One pass: rounds until one comes back short, or stop.
  void PurgeOnce() ABSL_LOCKS_EXCLUDED(mu_);
  // One round, waited for: how many tasks it deleted.
  absl::StatusOr<int> PurgeRound(absl::Time cutoff);

  PurgeableStore& store_;
  const Clock& clock_;
  const absl::Duration retention_;
  const absl::Duration interval_;
  std::atomic<uint64_t> purged_{0};

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once everything above is set
};

}  // namespace corosched::server
