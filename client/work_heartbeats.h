#pragma once

#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/work_calls.h"
#include "client/work_lease.h"

namespace corosched {

// The heartbeats of every item a Worker holds, sent by one thread: each
// held item with a heartbeat interval gets a HeartbeatWork (with its latest
// progress) every third of that interval, so two can fail before its
// deadline passes. An answer of cancel_requested cancels the lease; a
// refusal FAILED_PRECONDITION marks it lost and ends its heartbeats; other
// errors are reported and the next heartbeat comes as scheduled.
//
// Thread-safety: every method may be called from any thread.
class WorkHeartbeats {
 public:
  using ErrorCallback = std::function<void(const absl::Status&)>;
  // `calls` must outlive this object; `on_error` (may be empty) is called
  // on the heartbeat thread.
  WorkHeartbeats(WorkCalls& calls, ErrorCallback on_error);
  // Stop()s.
  ~WorkHeartbeats();
  WorkHeartbeats(const WorkHeartbeats&) = delete;
  WorkHeartbeats& operator=(const WorkHeartbeats&) = delete;

  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends and joins the thread; leases still held get no more heartbeats.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Heartbeats `lease` from now on (nothing if it has no interval).
  void Add(std::shared_ptr<WorkLease> lease) ABSL_LOCKS_EXCLUDED(mu_);
  // No more heartbeats for `lease` (one in flight may still be sent).
  void Remove(const WorkLease* lease) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Held {
    std::shared_ptr<WorkLease> lease;
    absl::Time next;
  };
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  bool ChangedOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Beat(WorkLease& lease);

  WorkCalls& calls_;
  const ErrorCallback on_error_;

  mutable absl::Mutex mu_;
  std::map<const WorkLease*, Held> held_ ABSL_GUARDED_BY(mu_);
  // Set by Add to wake the thread early (Stop wakes it by stopping_).
  bool changed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started by Start, joined by Stop
};

}  // namespace corosched
