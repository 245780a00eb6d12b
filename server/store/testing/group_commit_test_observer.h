#pragma once

// A CommitObserver for tests of the group-commit writer and the SQLite store.

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/store/group_commit.h"

namespace corosched::server::test_observer {

// Records every commit; the first one can be held (on the writer thread) so
// that writes queue up behind it, which makes batching deterministic.
class RecordingObserver final : public CommitObserver {
 public:
  void HoldFirstCommit() { hold_ = true; }
  void WaitUntilHeld() { held_.WaitForNotification(); }
  void Release() { release_.Notify(); }

  void OnCommit(const CommitStats& stats) override {
    bool hold = false;
    {
      absl::MutexLock lock(&mu_);
      batches_.push_back(stats.writes);
      synced_.push_back(stats.synced);
      hold = hold_ && batches_.size() == 1;
    }
    if (hold) {
      held_.Notify();
      release_.WaitForNotification();
    }
  }
  void OnStorageFailure(const absl::Status& reason) override {
    absl::MutexLock lock(&mu_);
    failures_.push_back(reason);
  }
  // Writes per commit, in commit order.
  std::vector<int> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  // Writes in every commit so far.
  int writes() {
    absl::MutexLock lock(&mu_);
    int total = 0;
    for (int batch : batches_) total += batch;
    return total;
  }
  // Whether each commit was fsynced.
  std::vector<bool> synced() {
    absl::MutexLock lock(&mu_);
    return synced_;
  }
  std::vector<absl::Status> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  bool hold_ = false;  // set before the writer starts
  absl::Notification held_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::vector<int> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> synced_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Status> failures_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server::test_observer
