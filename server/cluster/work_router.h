#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "server/store/work_routing_store.h"
#include "server/work/work_types.h"

namespace corosched::server {

struct WorkRouterOptions {
  // How often the router looks at the queues.
  absl::Duration interval = absl::Milliseconds(250);
  // How often a queue's waiting consumers are advertised again while they
  // wait (a queue that has just got some is advertised at the next look).
  absl::Duration advertise_every = absl::Seconds(1);
  // How long an advertisement stays current without being renewed.
  absl::Duration advertisement_ttl = absl::Seconds(3);
  // Handovers per look, over every queue.
  size_t max_handovers = 64;
};

// What the router does with this daemon's work queues and tasks (the
// Daemon's WorkQueues and TaskRunner).
struct WorkRouterHooks {
  // Every local queue with anything in it (WorkQueues::Stats).
  absl::AnyInvocable<std::vector<WorkQueueStats>()> stats;
  // The tasks whose items wait in `queue`, oldest first, at most `max`
  // (WorkQueues::QueuedTasks).
  absl::AnyInvocable<std::vector<std::string>(const std::string& queue,
                                              size_t max)>
      queued;
  // Gives task `id` up if its item still waits, calling `hand_over` to
  // queue the store's handover write; whether it did (TaskRunner::HandOver).
  absl::AnyInvocable<bool(const std::string& id,
                          absl::FunctionRef<void()> hand_over)>
      hand_over;
};

// Lets a worker poll any daemon of a cluster for the items of any task
// (docs/scale-out.md, "Workers on any daemon"). Work items wait in the
// memory of the daemon that runs their task; this moves the task to where
// the workers are. Every look (each `interval`):
//  1. Queues on which local consumers wait (parked polls, streams with
//     credit) are advertised in the store with their count
//     (WorkRoutingStore::AdvertiseConsumers): at once for a queue not
//     advertised at the last look, else every `advertise_every` (also
//     after a failed advertisement), each current for `advertisement_ttl`.
//  2. For the queues that hold waiting items and no local consumer, the
//     store is asked which other live daemons advertise consumers there.
//     Oldest item first, each such task is handed to one of them (up to
//     the count each advertised, and max_handovers in all): the task
//     runner withdraws the item if no worker leased it meanwhile, drops the
//     task without recording more, and queues HandOverAsync behind the
//     task's own writes; the target claims the task at once and resumes it,
//     which puts the attempt on its own queue, where its workers wait.
// Nothing is handed over while a local consumer waits on the queue: local
// workers are served first, and two daemons never pass a task back and
// forth while both have workers.
//
//   WorkRouter router(store, clock, hooks, {});
//   router.Start();  // after the daemon joined
//   ...
//   router.Stop();   // before the daemon drains
//
// Threads: one, owned and joined by Stop. Tests call Look() on their own
// thread with a ManualClock instead.
//
// Thread-safety: every method from any thread; Start and Stop from one.
class WorkRouter {
 public:
  // `store` and `clock` must outlive the router.
  WorkRouter(WorkRoutingStore& store, const Clock& clock, WorkRouterHooks hooks,
             WorkRouterOptions options = {});
  ~WorkRouter();
  WorkRouter(const WorkRouter&) = delete;
  WorkRouter& operator=(const WorkRouter&) = delete;

  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // Stops and joins the thread. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // One look (steps 1 and 2). Returns how many tasks it handed over.
  size_t Look() ABSL_LOCKS_EXCLUDED(look_mu_);

 private:
  // Step 1, given the queues with local consumers.
  void Advertise(const std::vector<QueueConsumers>& waiting)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(look_mu_);
  // Step 2, given the queues with items and no local consumer.
  size_t HandOverIdle(const std::vector<std::string>& idle);

  WorkRoutingStore& store_;
  const Clock& clock_;
  WorkRouterHooks hooks_;
  const WorkRouterOptions options_;

  // Held through a look: the thread's and a test's never overlap.
  absl::Mutex look_mu_;
  // The queues advertised at the last advertisement, and when the next is
  // due.
  absl::btree_set<std::string> advertised_ ABSL_GUARDED_BY(look_mu_);
  absl::Time next_advertise_ ABSL_GUARDED_BY(look_mu_) = absl::InfinitePast();

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace corosched::server
