#pragma once

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "corosched/v1/work.pb.h"
#include "google/protobuf/struct.pb.h"

namespace corosched {

// One item a Worker holds, shared by the handler's WorkContext, the
// heartbeat thread and the thread that answers it. The item itself is
// immutable; the lease's state (heartbeat deadline, progress, cancel, lost)
// changes under a mutex.
//
// Thread-safety: every method may be called from any thread.
class WorkLease {
 public:
  explicit WorkLease(v1::WorkItem item);
  WorkLease(const WorkLease&) = delete;
  WorkLease& operator=(const WorkLease&) = delete;

  const v1::WorkItem& item() const { return item_; }
  absl::Time timeout_deadline() const { return timeout_deadline_; }
  // The work's heartbeat interval (heartbeat_deadline - started_at, as the
  // daemon gave them), or zero when it declares none.
  absl::Duration heartbeat_interval() const { return heartbeat_interval_; }

  absl::Time heartbeat_deadline() const ABSL_LOCKS_EXCLUDED(mu_);
  // A heartbeat was accepted; `deadline` is its answer's new deadline.
  void Heartbeated(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

  bool cancel_requested() const ABSL_LOCKS_EXCLUDED(mu_);
  void RequestCancel() ABSL_LOCKS_EXCLUDED(mu_);
  bool WaitForCancel(absl::Duration timeout) const ABSL_LOCKS_EXCLUDED(mu_);

  // The daemon refused a call with this lease's token: the lease ended, so
  // no answer is sent. Also requests cancellation (the work is moot).
  void MarkLost() ABSL_LOCKS_EXCLUDED(mu_);
  bool lost() const ABSL_LOCKS_EXCLUDED(mu_);

  void SetProgress(google::protobuf::Value details) ABSL_LOCKS_EXCLUDED(mu_);
  // The latest details set, if any (sent with every heartbeat after).
  std::optional<google::protobuf::Value> progress() const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const v1::WorkItem item_;
  const absl::Time timeout_deadline_;
  const absl::Duration heartbeat_interval_;

  mutable absl::Mutex mu_;
  absl::Time heartbeat_deadline_ ABSL_GUARDED_BY(mu_);
  bool cancel_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<google::protobuf::Value> progress_ ABSL_GUARDED_BY(mu_);
};

// A Timestamp as absl::Time; an unset one is absl::InfiniteFuture().
absl::Time TimeOrInfinite(bool set, const google::protobuf::Timestamp& time);

}  // namespace corosched
