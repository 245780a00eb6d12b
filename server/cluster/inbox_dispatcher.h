#pragma once

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "corosched/v1/scheduler.pb.h"
#include "server/metrics/cluster_metrics.h"
#include "server/store/cluster_store.h"

namespace corosched::server {

// The calls an inbox message becomes on the daemon that runs its task.
// Each reaches only a task live here (TaskRunner::Reach::kHere: a message
// must never be queued again) and answers `done` with the call's status.
struct LocalTaskCalls {
  using Done = absl::AnyInvocable<void(absl::Status) &&>;
  absl::AnyInvocable<void(const std::string& task_id, v1::Signal signal,
                          const std::string& request_id, Done done)>
      wake;
  absl::AnyInvocable<void(const std::string& task_id, std::string reason,
                          Done done)>
      cancel;
};

// Applies the wakes and cancels other daemons queued in the inboxes of the
// tasks this daemon runs (cluster_store.h, "Inbox"): each message becomes
// a local call, and is deleted once that call answered for good: OK, or a
// refusal that will not change (the task ended, a signal it does not take).
// A message whose call answers UNAVAILABLE (the task is not live here yet,
// or any more; the store is down) or whose write lost the task's lease
// stays queued for the next delivery, here or at the task's next owner.
//
// Delivered once: a wake keeps its request id (an empty one becomes
// "inbox:<message id>"), so applying a message twice (a delete that was
// lost, a notification and a sweep at once) is answered as a duplicate
// and its signal reaches the task once. A cancel applied twice cancels
// once. While a message is being applied, other deliveries skip it.
//
// Thread-safety: every method from any thread. Deliver and DeliverAll read
// the store and wait for it: call them from a thread of the caller's own,
// never from a store callback or a gRPC handler.
class InboxDispatcher {
 public:
  // `metrics`, if not null, counts delivered messages and must outlive
  // the dispatcher. `store` and `calls`' targets must outlive it too, and
  // every call it made must have answered before it is destroyed.
  InboxDispatcher(ClusterStore& store, LocalTaskCalls calls,
                  ClusterMetrics* metrics = nullptr)
      : store_(store), calls_(std::move(calls)), metrics_(metrics) {}
  InboxDispatcher(const InboxDispatcher&) = delete;
  InboxDispatcher& operator=(const InboxDispatcher&) = delete;

  // Applies the queued messages of `task_id`, oldest first. The store's
  // error when its inbox cannot be read.
  absl::Status Deliver(const std::string& task_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Deliver for every task this daemon owns that has queued messages (a
  // sweep: notifications may be lost).
  absl::Status DeliverAll() ABSL_LOCKS_EXCLUDED(mu_);

  // Whether `answer`, a local call's status, ends the message for good.
  static bool IsFinalAnswer(const absl::Status& answer);

 private:
  void Apply(InboxMessage message);
  // The call for message `id` answered `answer`.
  void Applied(int64_t id, const absl::Status& answer) ABSL_LOCKS_EXCLUDED(mu_);

  ClusterStore& store_;
  LocalTaskCalls calls_;
  ClusterMetrics* const metrics_;
  absl::Mutex mu_;
  // Messages whose call (or delete) has not answered yet.
  absl::flat_hash_set<int64_t> applying_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
