#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "server/cluster/inbox_dispatcher.h"
#include "server/metrics/cluster_metrics.h"
#include "server/store/cluster_store.h"

namespace corosched::server {

struct LeaseKeeperOptions {
  // The daemon lease (--lease-duration): how long after this daemon last
  // renewed it others may take its tasks.
  absl::Duration lease = absl::Seconds(30);
  // Polls stop this long before the lease could expire in the database:
  // room for this host's clock running slow against the database's, and
  // for a poll still running when the tasks are abandoned. 0: lease / 6.
  absl::Duration margin = absl::ZeroDuration();
  // How often unowned tasks are claimed. 0: lease / 5.
  absl::Duration claim_interval = absl::ZeroDuration();
  // How often every owned task's inbox is read, for notifications lost.
  absl::Duration inbox_sweep_interval = absl::Seconds(5);
  // Tasks per ClaimTasks call.
  int claim_batch = 200;
  // The pause before trying a join or renewal the database did not answer
  // again. 0: the lesser of 1 s and lease / 10.
  absl::Duration retry_interval = absl::ZeroDuration();
};

// What the keeper does with this daemon's tasks (the Daemon's TaskRunner
// and TaskService).
struct ClusterTaskHooks {
  // How many more tasks this daemon may run now (admission).
  absl::AnyInvocable<size_t()> free_capacity;
  // Runs claimed tasks here (TaskService::ResumeClaimed); returns the ids
  // of those it could not start, which the keeper gives back. Must not
  // wait for the store (it runs under the keeper's lock).
  absl::AnyInvocable<std::vector<std::string>(std::vector<TaskRecord>)> resume;
  // Drops live task `id`, or every live task, without recording anything
  // more (TaskRunner::Abandon, AbandonAll); must not block.
  absl::AnyInvocable<void(const std::string& id)> abandon;
  absl::AnyInvocable<size_t()> abandon_all;
  // Tasks live here now, for the owned-tasks gauge.
  absl::AnyInvocable<size_t()> live_count;
};

// Keeps this daemon's lease on a shared store (cluster_store.h) and runs
// the tasks it claims: joins, renews the daemon lease every lease / 3,
// claims tasks nobody runs every claim_interval (up to free capacity), and
// applies the inbox messages of the tasks it runs (on each notification,
// and in a sweep every inbox_sweep_interval).
//
//   LeaseKeeper keeper(store, clock, inbox, hooks, {.lease = ...});
//   keeper.Start();        // join, claim and resume, before serving
//   ... serving ...
//   keeper.StopClaiming(); // drain begins
//   ... executor stopped ...
//   keeper.Leave();        // give every task back, leave
//
// The guarantee: no two daemons poll a task inside one lease. Why:
//  1. A renewal sent at local time s (on a clock that never goes back)
//     extends the lease in the database to at least (the database's now()
//     when it runs) + lease, which is no earlier than s + lease as the
//     database's clock counts it.
//  2. The keeper keeps deadline = s + lease - margin, s being the send time
//     of the last renewal (or join) that succeeded.
//  3. Another daemon claims a task of this one only once the database's
//     now() passed this daemon's lease_until (ClaimTasks), so not before
//     s + lease.
//  4. When the deadline passes without a successful renewal (the database
//     is down or slow), or a renewal answers IsLeaseLost, the keeper
//     abandons every live task (hooks.abandon_all): each stops at its next
//     poll and records nothing more. A poll in progress finishes within
//     the margin; the margin also covers this host's clock running slower
//     than the database's by up to margin / lease.
//  5. Claimed tasks are resumed under the same lock as the abandon, and
//     only while the deadline has not passed: none starts after it.
//     hooks.resume never waits for the store, so it cannot hold the
//     abandon back.
// So every poll here ends before s + lease, and none elsewhere begins
// before it. Fencing (cluster_store.h) makes a write after that refused
// anyway; the lease is what keeps the polls themselves apart.
//
// After losing its lease the daemon joins again under a new id once the
// database answers (when it lost it by its own deadline, it first leaves
// under the old id, so the tasks it abandoned can be claimed at once), and
// claims tasks again.
//
// Threads: three, owned and joined by Stop: the lease thread (join, renew;
// may wait long for the database), the fence thread (watches the deadline
// and never calls the store, so a hung renewal cannot hold the abandon
// back), and the claim thread (claims, inbox deliveries).
//
// The steps each thread repeats are public, so tests drive them on their
// own thread with a ManualClock instead of starting the threads.
//
// Thread-safety: every method from any thread; Start, Stop and Leave from
// one (the Daemon's).
class LeaseKeeper final : private ClockListener {
 public:
  // Sets the store's ClusterCallbacks: a lost task lease abandons the task,
  // a notification queues a delivery of its inbox, a handover claims soon.
  // `metrics` may be null. Everything passed must outlive the keeper.
  // REQUIRES: `clock` never goes back (a steady clock, or a ManualClock):
  // the deadline is measured on it.
  LeaseKeeper(ClusterStore& store, Clock& clock, InboxDispatcher& inbox,
              ClusterTaskHooks hooks, LeaseKeeperOptions options,
              ClusterMetrics* metrics = nullptr);
  ~LeaseKeeper() override;
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Joins, starts the threads, then claims every task nobody runs (up to
  // free capacity) and applies their inboxes before it returns. The
  // store's error when the join fails.
  absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_);
  // No more claims (drain): the tasks this daemon runs stay its own.
  void StopClaiming() ABSL_LOCKS_EXCLUDED(mu_);
  // Stops and joins the threads, and detaches from the store's callbacks
  // (a lost task lease or a notification no longer reaches the keeper).
  // Idempotent; only the first call touches the store.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  // Stop, then gives every task back and leaves the store (drain, once
  // the executor stopped: the tasks left unfinished are claimed by the
  // other daemons at once, not after the lease).
  absl::Status Leave() ABSL_LOCKS_EXCLUDED(mu_);

  // The lease thread's step: joins (leaving first after a lost lease) or
  // renews, whichever is due.
  void RenewIfDue() ABSL_LOCKS_EXCLUDED(mu_);
  // The fence thread's step: abandons every task once the deadline passed.
  // True when it did.
  bool FenceIfExpired() ABSL_LOCKS_EXCLUDED(mu_);
  // The claim thread's steps: claims up to free capacity, in batches, and
  // resumes what it got, then applies their inboxes; and applies the
  // inboxes of notified tasks (all owned ones when a sweep is due).
  void ClaimNow() ABSL_LOCKS_EXCLUDED(mu_);
  void DeliverInboxes() ABSL_LOCKS_EXCLUDED(mu_);

  // The claim thread claims at once instead of at the next interval (a
  // task was handed over to this daemon).
  void ClaimSoon() ABSL_LOCKS_EXCLUDED(mu_);

  // Until when polls may run here (InfinitePast while no lease is held).
  absl::Time deadline() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // A join sent at `sent` succeeded.
  void Joined(absl::Time sent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Abandons every task and forgets the lease; `leave_first`: leave under
  // the old id before joining again.
  void LoseLease(absl::string_view why, bool leave_first)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The claim thread's step: ClaimNow when due, then DeliverInboxes.
  void ClaimThreadStep() ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `step` until Stop, then waits until `due()` (or a clock move, or
  // a poke) before the next.
  void Loop(absl::FunctionRef<void()> step, absl::FunctionRef<absl::Time()> due)
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnClockAdvanced() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnInbox(const std::string& task_id) ABSL_LOCKS_EXCLUDED(mu_);

  ClusterStore& store_;
  Clock& clock_;
  InboxDispatcher& inbox_;
  ClusterTaskHooks hooks_;
  const absl::Duration lease_;
  const absl::Duration margin_;
  const absl::Duration claim_interval_;
  const absl::Duration sweep_interval_;
  const int claim_batch_;
  const absl::Duration retry_interval_;
  ClusterMetrics* const metrics_;

  absl::Mutex mu_;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
  bool leave_first_ ABSL_GUARDED_BY(mu_) = false;
  // Why the last join or renewal failed (what Start returns).
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);
  // Counts joins and losses: a renewal or claim that began under another
  // generation takes no effect.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time deadline_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_renew_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_claim_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool claiming_ ABSL_GUARDED_BY(mu_) = true;
  // Tasks whose inbox was notified and not yet read.
  absl::flat_hash_set<std::string> notified_ ABSL_GUARDED_BY(mu_);
  // Set by clock moves, notifications and state changes: waiting threads
  // look again.
  uint64_t pokes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace corosched::server
