#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "server/work/work_observer.h"
#include "server/work/work_types.h"

namespace corosched::server {

// The daemon's side of work dispatch: named in-memory queues of work items
// (one per task attempt in a `work` state), handed to remote workers under
// leases, and the outcome of each attempt reported to the owner (the task
// runner), which decides what happens next. Nothing here retries.
//
// Use: the owner Enqueue()s an attempt; workers take items with Poll() (a
// long poll: answered at once if an item is queued, else when one is, or
// empty once `wait` passes) or with a stream (OpenStream(), then
// AddCredit(): each credit is one item the worker can take). Each item
// taken is leased to that worker alone under a token (work_token.h); the
// worker Heartbeat()s, then Complete()s or Fail()s it. The owner's timer
// calls ExpireDue() at NextDeadline(): leases whose heartbeat or timeout
// deadline passed, and queued items past their schedule timeout, end then
// (a token call after a deadline also ends the lease at once, so a late
// answer is refused however late the sweep runs). Every end is one
// WorkOutcome to the owner's callback.
//
// The timer: ExpireDue() has something to do at NextDeadline(). An owner
// that arms one timer there passes `on_earlier_deadline`, which is told,
// after the call that set it, of each deadline earlier than the one it was
// last given (by NextDeadline() or this callback), so it re-arms earlier.
//
// Invariants:
//   1. An item is leased to at most one worker at a time: it leaves its
//      queue's FIFO in the same critical section that leases it.
//   2. A token fences its lease: it is accepted only while that lease is
//      current (same task, attempt and nonce, deadlines not passed, the
//      outcome not yet decided). After the lease ends (any outcome, or
//      ReturnUndelivered) it is refused FAILED_PRECONDITION and changes
//      nothing; a malformed token is INVALID_ARGUMENT.
//   3. Each attempt Enqueue()d (or Restore()d) has exactly one outcome,
//      unless it is Withdraw()n (its task went to another daemon, which
//      reports the attempt's end there): it is decided under the mutex by
//      the one caller that removes the item, and reported once, after the
//      mutex is released.
//   4. No queue holds ready items while a consumer with credit is parked on
//      it: every change that adds either dispatches before unlocking.
//
// Callbacks (poll answers, stream items, outcomes) run on the thread that
// caused them (Enqueue, Poll, ExpireDue, a token call...), never under the
// mutex, so they may call back in. They may run before the call that
// registered them returns, and on several threads at once; an outcome and a
// later event of the same task are not ordered across threads.
//
// Races, with what the consumer must do:
//   A. Poll answered while its client goes away: 1. Enqueue leases item X to
//      parked poll P and unlocks; 2. P's client cancels, CancelWait(P)
//      answers false (P was answered); 3. P's callback finds its call gone.
//      It must ReturnUndelivered(X's token), which puts X back at the head of
//      its queue, or X waits for its lease deadlines.
//   B. Stream closed while an item is on its way: the same, with
//      CancelWait(stream) in step 2; an item may reach the stream's
//      callback after CancelWait returned.
//   C. Complete racing the heartbeat deadline: whichever takes the mutex
//      first decides; if the deadline passed by then, Complete is refused
//      and the outcome is kHeartbeatTimeout.
//
// Duplicate answers: a worker whose Complete was accepted but whose answer
// was lost retries with the same token and is refused FAILED_PRECONDITION
// "already completed" (Fail likewise, "already failed"); the status carries
// the payload kAlreadyAcceptedPayload, so a worker library can tell "your
// answer was taken" from "your lease was lost". The last
// kRememberedEnds ended leases are remembered for this; an older token gets
// the plain refusal.
//
// Thread-safety: every method from any thread.
class WorkQueues {
 public:
  // Distinct queues with anything in them (items, leases, parked polls,
  // open streams); a call that would make one more is RESOURCE_EXHAUSTED.
  static constexpr size_t kMaxQueues = 1024;
  static constexpr size_t kRememberedEnds = 4096;
  // The status payload (type URL) on a refusal of a repeated answer.
  static constexpr char kAlreadyAcceptedPayload[] =
      "type.corosched.dev/corosched.work.AlreadyAccepted";

  using OutcomeCallback = absl::AnyInvocable<void(WorkOutcome)>;
  // A poll's answer: up to max_items leases, or none when the wait passed.
  using PollCallback = absl::AnyInvocable<void(std::vector<WorkLease>) &&>;
  // One call per item a stream receives.
  using StreamCallback = absl::AnyInvocable<void(WorkLease)>;
  // A parked poll or an open stream.
  using ConsumerId = uint64_t;
  using DeadlineCallback = absl::AnyInvocable<void(absl::Time)>;

  struct PollRequest {
    std::string queue;
    std::string worker_identity;
    // 0 means 1.
    uint32_t max_items = 1;
    absl::Duration wait = absl::ZeroDuration();
  };
  struct HeartbeatAnswer {
    bool cancel_requested = false;
    // InfiniteFuture() without a heartbeat interval.
    absl::Time heartbeat_deadline = absl::InfiniteFuture();
  };

  // `on_outcome` hears every attempt's end (see Invariants, 3);
  // `on_earlier_deadline`, if set, of deadlines to re-arm the timer at;
  // `observer`, if not null, of items queued, leased, ended and expired
  // (after the mutex is released, as the callbacks); it must outlive this.
  WorkQueues(Clock& clock, OutcomeCallback on_outcome,
             DeadlineCallback on_earlier_deadline = nullptr,
             WorkQueuesObserver* observer = nullptr);
  WorkQueues(const WorkQueues&) = delete;
  WorkQueues& operator=(const WorkQueues&) = delete;

  // Queues one attempt at the tail of its queue. INVALID_ARGUMENT for a bad
  // spec (work_checks.h), ALREADY_EXISTS while the task has an item here
  // (queued or leased: report its outcome first), RESOURCE_EXHAUSTED at
  // kMaxQueues.
  absl::Status Enqueue(WorkSpec spec) ABSL_LOCKS_EXCLUDED(mu_);

  // A long poll; `done` is called exactly once unless an error is returned
  // or CancelWait() removes it first. INVALID_ARGUMENT for a bad request,
  // RESOURCE_EXHAUSTED at kMaxQueues.
  absl::StatusOr<ConsumerId> Poll(PollRequest request, PollCallback done)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A stream on `queue` with no credit yet.
  absl::StatusOr<ConsumerId> OpenStream(std::string queue,
                                        std::string worker_identity,
                                        StreamCallback on_item)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Lets the stream take `items` (1 to 100) more; unused credit adds up to
  // at most 100 (more is ignored). NOT_FOUND for a closed stream,
  // INVALID_ARGUMENT for a bad count.
  absl::Status AddCredit(ConsumerId stream, uint32_t items)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Removes a parked poll or a stream (the client went away). True if it
  // was still there: a poll's callback will then never run. False if the
  // poll was answered (see race A) or the id is unknown.
  bool CancelWait(ConsumerId id) ABSL_LOCKS_EXCLUDED(mu_);
  // Puts an item whose lease never reached its worker back at the head of
  // its queue (races A and B), fencing the token. Not an outcome.
  absl::Status ReturnUndelivered(absl::string_view token)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Moves the lease's heartbeat deadline to now + its interval.
  absl::StatusOr<HeartbeatAnswer> Heartbeat(absl::string_view token,
                                            google::protobuf::Value details)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the lease as kCompleted. FAILED_PRECONDITION after RequestCancel
  // (fail the item instead).
  absl::Status Complete(absl::string_view token, google::protobuf::Value result)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the lease as kFailed, or kCancelled after RequestCancel.
  absl::Status Fail(absl::string_view token, std::string error,
                    std::string message, bool retryable)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The task is being cancelled: a queued item is removed and reported
  // kCancelled at once; a leased one answers cancel_requested to its next
  // heartbeat and refuses completion. False if the task has no item here.
  bool RequestCancel(absl::string_view task_id) ABSL_LOCKS_EXCLUDED(mu_);

  // --- Handing tasks to other daemons (work_withdraw.cc, work_router.h) ---

  // The tasks whose items wait in `queue` (the queue key) for a worker,
  // oldest first, at most `max_items` of them.
  std::vector<std::string> QueuedTasks(absl::string_view queue,
                                       size_t max_items)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Takes the task's item out of its queue if it still waits there, in the
  // critical section that would lease it: a worker that took it first
  // keeps it (nullopt), otherwise no worker can take it any more. The
  // attempt then has no outcome here (invariant 3) and the observer hears
  // nothing; the item's spec is returned. nullopt when the item is leased
  // or the task has none.
  std::optional<WorkSpec> Withdraw(absl::string_view task_id)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Takes back a lease recorded before a restart, so its worker's token
  // stays valid. The timeout deadline is kept as recorded; the heartbeat
  // deadline is the recorded one or, if later, now + the interval, since
  // heartbeats sent while the daemon was down could not arrive. Deadlines
  // that passed meanwhile end the lease at the next ExpireDue().
  // INVALID_ARGUMENT for a bad record, ALREADY_EXISTS as Enqueue.
  absl::Status Restore(LeaseRecord record) ABSL_LOCKS_EXCLUDED(mu_);
  // The current lease of the task's item, to persist; nullopt if queued or
  // absent.
  std::optional<LeaseRecord> FindLease(absl::string_view task_id)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Ends what is due by the clock: leases past a deadline, items queued
  // past their schedule timeout (outcomes), and polls whose wait passed
  // (answered empty). Returns the number of outcomes.
  size_t ExpireDue() ABSL_LOCKS_EXCLUDED(mu_);
  // When ExpireDue next has something to do; InfiniteFuture() if never.
  // The owner's timer is taken to be armed there from now on.
  absl::Time NextDeadline() ABSL_LOCKS_EXCLUDED(mu_);

  // Every queue with anything in it, by name.
  std::vector<WorkQueueStats> Stats() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Item {
    WorkSpec spec;
    // The nonce the next lease gets (drawn outside the mutex at Enqueue).
    std::string next_nonce;
    bool leased = false;
    // Leased before a restart (Restore): its input is not here.
    bool restored = false;
    LeaseRecord lease;  // when leased
    google::protobuf::Value last_details;
    // The earliest deadline, as keyed in deadlines_.
    absl::Time indexed_deadline = absl::InfiniteFuture();
  };
  struct EndedLease {
    WorkOutcomeKind kind;
    bool answered;  // ended by the worker's Complete or Fail
  };
  struct Consumer {
    std::string queue;
    std::string worker_identity;
    uint32_t credit = 0;
    absl::Time deadline = absl::InfiniteFuture();  // polls only
    PollCallback poll_done;                        // polls
    std::shared_ptr<StreamCallback> on_item;       // streams
    bool parked = false;                           // in its queue's `waiting`
  };
  struct Queue {
    std::deque<std::string> ready;  // task ids, oldest first
    std::deque<ConsumerId> waiting;
    uint64_t leased = 0;
    uint64_t consumers = 0;  // parked polls and open streams
  };
  // What to do once the mutex is released.
  struct Effects {
    struct Delivery {
      PollCallback poll_done;
      std::shared_ptr<StreamCallback> on_item;
      std::vector<WorkLease> leases;
    };
    std::vector<Delivery> deliveries;
    std::vector<WorkOutcome> outcomes;
    // A deadline earlier than the owner's timer is armed at.
    std::optional<absl::Time> earlier_deadline;
    // For the observer; filled only when there is one.
    struct Observed {
      std::vector<std::string> queued;
      std::vector<std::pair<std::string, absl::Duration>> leased;
      std::vector<std::pair<std::string, LeaseExpiryKind>> expired;
      std::vector<WorkAttemptEnd> ended;
    };
    Observed observed;
  };

  void Run(Effects effects);
  void Notify(const Effects::Observed& observed);
  absl::StatusOr<Queue*> GetOrAddQueue(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropQueueIfIdle(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Leases ready items to parked consumers while both exist (invariant 4).
  void Dispatch(const std::string& name, Effects& effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  WorkLease LeaseItem(Item& item, const Consumer& consumer, absl::Time now,
                      Effects& effects) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Park(ConsumerId id, Consumer& consumer, Queue& queue)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveConsumer(ConsumerId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Reindex(Item& item, Effects& effects) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Notes a new deadline: if it is before armed_, the owner is told.
  void Arm(absl::Time deadline, Effects& effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time EarliestDeadline() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The item's lease, if `token` names it and it is current; an ended one
  // (deadline passed) is ended now, into `effects`.
  absl::StatusOr<Item*> FindCurrentLease(absl::string_view token,
                                         Effects& effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a due item (lease deadline or schedule timeout) with the right kind.
  void ExpireItem(Item& item, absl::Time now, Effects& effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the item and records `outcome` (task id, attempt and time
  // filled in); `answered`: by the worker's Complete or Fail.
  void End(Item& item, WorkOutcome outcome, bool answered, Effects& effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RememberEnd(const std::string& token, EndedLease ended)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  OutcomeCallback on_outcome_;
  DeadlineCallback on_earlier_deadline_;
  WorkQueuesObserver* const observer_;

  absl::Mutex mu_;
  absl::node_hash_map<std::string, Item> items_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, Queue> queues_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<ConsumerId, Consumer> consumers_ ABSL_GUARDED_BY(mu_);
  ConsumerId next_consumer_ ABSL_GUARDED_BY(mu_) = 1;
  // The deadline the owner's timer is armed at, as far as we told it.
  absl::Time armed_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // Items by their earliest deadline; parked polls by the end of their wait.
  absl::btree_set<std::pair<absl::Time, std::string>> deadlines_
      ABSL_GUARDED_BY(mu_);
  absl::btree_set<std::pair<absl::Time, ConsumerId>> poll_deadlines_
      ABSL_GUARDED_BY(mu_);
  // Tokens of recently ended leases and how they ended, oldest first.
  absl::flat_hash_map<std::string, EndedLease> ended_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ended_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
