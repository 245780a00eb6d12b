#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "corosched/v1/scheduler.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/auth/authorizer.h"
#include "server/store/namespace_keys.h"
#include "server/store/task_store.h"
#include "server/tasks/delayed_calls.h"
#include "server/tasks/stream_hub.h"

namespace corosched::server {

// How watches follow tasks other daemons run (several daemons on one shared
// store, docs/scale-out.md): the StreamHub hears only of this daemon's
// writes, so a caught-up watch of a task that does not run here reads the
// store again every `interval`, until the task ends.
struct WatchPolling {
  DelayedCalls* timer = nullptr;
  // Whether task `id` (a namespaced key) runs here (TaskRunner::IsLive);
  // called from the timer's thread.
  absl::AnyInvocable<bool(const std::string& id) const> runs_here;
  absl::Duration interval = absl::Milliseconds(100);
};

// One WatchTask stream: writes the task's events from the store, oldest
// first, one write in flight at a time, and ends with OK after the task's
// `finished` event. When it has caught up it waits, with no thread, until
// the StreamHub reports new events; with `polling`, while the task does not
// run on this daemon, it also looks at the store every polling->interval
// (another daemon writes it, and this daemon's hub never hears of that).
//
// Ends early with NOT_FOUND for an unknown task, OUT_OF_RANGE when the events
// after the requested sequence were dropped from the log (the store keeps the
// last --task-max-events of each task), CANCELLED when the client
// goes away, UNAVAILABLE (saying which after_sequence to resume from) when
// the daemon shuts down.
//
// Ownership: the reactor owns itself (self_) from Start until gRPC calls
// OnDone; the hub holds it weakly.
//
// Thread-safety: reactions, hub calls and Start may run concurrently; mu_
// orders them. StartWrite and Finish are called outside mu_.
class WatchReactor final : public grpc::ServerWriteReactor<v1::TaskEvent>,
                           public OpenStream {
 public:
  // Validates `request` and starts the stream on the task of that id in
  // `scope`'s namespace (another namespace's is NOT_FOUND), holding `scope`
  // until the stream ends; the result is for gRPC.
  // `polling`, if not null, must outlive the stream.
  static grpc::ServerWriteReactor<v1::TaskEvent>* Start(
      TaskStore& store, StreamHub& hub, CallScope scope,
      const v1::WatchTaskRequest& request,
      const WatchPolling* polling = nullptr);

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnDone() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnTaskEvents() override ABSL_LOCKS_EXCLUDED(mu_) { Pump(); }
  void OnShutdown() override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  WatchReactor(TaskStore& store, StreamHub& hub, CallScope scope,
               const v1::WatchTaskRequest& request, const WatchPolling* polling)
      : store_(store),
        hub_(hub),
        polling_(polling),
        scope_(std::move(scope)),
        task_id_(NamespacedKey(scope_.namespace_name, request.task_id())),
        after_(request.after_sequence()) {}

  // OUT_OF_RANGE for a watch from `after` whose next kept event is
  // `first_kept`: the ones between were dropped (--task-max-events).
  static grpc::Status DroppedEvents(uint64_t after, uint64_t first_kept);
  // Writes the next event, finishes, or waits for the hub.
  void Pump() ABSL_LOCKS_EXCLUDED(mu_);
  // Asks the timer to look at the store in a moment (PollDue), unless a
  // look is pending already.
  void SchedulePoll() ABSL_LOCKS_EXCLUDED(mu_);
  // The moment came: reads the store unless the task runs here (its
  // writes reach the hub then), and looks again later.
  void PollDue() ABSL_LOCKS_EXCLUDED(mu_);
  // Finishes with `status` now, or after the write in flight.
  void RequestFinish(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_);

  TaskStore& store_;
  StreamHub& hub_;
  const WatchPolling* const polling_;
  const CallScope scope_;
  // The task's namespaced key.
  const std::string task_id_;
  std::shared_ptr<WatchReactor> self_;
  // What the timer's calls hold: a stream that is done is skipped.
  std::weak_ptr<WatchReactor> weak_self_;

  absl::Mutex mu_;
  std::optional<StreamHub::Token> token_ ABSL_GUARDED_BY(mu_);
  // The last sequence number taken from the store for writing.
  uint64_t after_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::TaskEvent> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool poll_pending_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  // The event being written; only touched while writing_.
  v1::TaskEvent in_flight_;
};

}  // namespace corosched::server
