#pragma once

// A store several daemons share (PostgresStore, --postgres-url): which
// daemon runs which task, and how a call that reaches a daemon that does not
// run the task reaches the one that does. docs/scale-out.md explains it for
// operators; this is the contract.
//
// Daemons. Each daemon Join()s under a fresh id and holds one daemon lease
// (a row: id, lease_until by the database's clock), renewed for all its
// tasks at once by RenewDaemonLease: the batch renewal of every task lease.
// A daemon whose renewal finds its lease already expired has lost every
// task: it abandons them and Join()s again under a new id (a lease never
// comes back to life).
//
// Task leases. Each unfinished task's row has (owner, epoch). The task is
// run by `owner` while owner's daemon lease is current; nobody runs it while
// owner is empty or its daemon lease has expired (or its row is gone), and
// then any daemon may ClaimTasks it.
//  - CreateTaskAsync makes the creating daemon the owner, at epoch 1.
//  - ClaimTasks sets owner = this daemon and epoch = epoch + 1, in the same
//    statement that reads the snapshot it returns, so the claimer resumes
//    from the last step any earlier owner recorded.
//  - Fencing: every write of an owned task (RecordProgressAsync,
//    RecordWakeSignalAsync, and the end) carries the epoch this store holds
//    for it and applies only while the row still shows (this daemon, that
//    epoch). Otherwise it is refused FAILED_PRECONDITION (IsLeaseLost), the
//    store forgets the task and calls on_lease_lost(id): a paused or
//    partitioned daemon can never record a step after another took over.
//  - ReleaseTasks (drain, a task given to another daemon) sets owner empty
//    and keeps the epoch, so another daemon claims it at once instead of
//    after the lease time. Leave() releases every task and deletes the
//    daemon's row.
//
// Guarantees (with the owner stopping its polls once its lease may have
// expired, LeaseKeeper): no two daemons poll one task inside one lease;
// across a failover each state runs at least once, as after a crash
// (docs/durability.md): the new owner repeats what the old one ran and did
// not record.
//
// Inbox. A wake or cancel for a task this daemon does not run is queued in
// the task's inbox (durable before `done`) and its owner is notified at once
// (LISTEN/NOTIFY; on_inbox). The owner takes each message, applies it as a
// local call (a wake keeps its request id, so a message delivered twice is
// answered as a duplicate and its signal is delivered once), and deletes it.
// A daemon that claims a task reads its inbox after resuming it.
//
// Every event recorded carries the epoch and the poll count
// (snapshot.steps.polls) of the write that recorded it, so an independent
// checker can see from the database alone that no poll was recorded twice
// and that epochs never go back (tests/cluster/epoch_checker.py).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.pb.h"
#include "server/store/task_store.h"

namespace corosched::server {

// The refusal of a fenced write whose lease another daemon took (or that
// this daemon released or lost).
absl::Status LeaseLostError(absl::string_view task_id);
bool IsLeaseLost(const absl::Status& status);

struct ClaimedTask {
  TaskRecord record;
  uint64_t epoch = 0;
};

// A wake or a cancel for a task another daemon runs (or none does, between
// an owner's death and a claim).
struct InboxMessage {
  enum class Kind { kWake, kCancel };
  // Assigned by the store, increasing; 0 when enqueued.
  int64_t id = 0;
  std::string task_id;
  Kind kind = Kind::kWake;
  // kWake: the signal and the client's request id (may be empty; the owner
  // then delivers it under "inbox:<id>" so that it is delivered once).
  v1::Signal signal;
  std::string request_id;
  // kCancel: recorded as the task's error.
  std::string reason;
};

struct InboxReceipt {
  int64_t id = 0;
  // A wake whose request id was queued or answered before: nothing queued.
  bool duplicate = false;
};

struct ClusterCallbacks {
  // A fenced write of `task_id` was refused: another daemon owns it now (or
  // this daemon's lease expired). The runner abandons the task without
  // recording anything more. Any thread; must not block.
  absl::AnyInvocable<void(const std::string& task_id)> on_lease_lost;
  // A message was queued in the inbox of `task_id`, which this daemon owns;
  // empty: the notification connection was (re)established, so messages may
  // have been missed: read every owned task's inbox. The listener's thread;
  // must not block.
  absl::AnyInvocable<void(const std::string& task_id)> on_inbox;
  // Another daemon handed task `task_id` over to this one
  // (work_routing_store.h): claim soon. The listener's thread; must not
  // block. May be empty.
  absl::AnyInvocable<void(const std::string& task_id)> on_handover;
};

class ClusterStore {
 public:
  virtual ~ClusterStore() = default;

  // Set before Join; called as documented on ClusterCallbacks.
  virtual void SetClusterCallbacks(ClusterCallbacks callbacks) = 0;

  // Registers this daemon under a fresh id with a lease of `lease` from the
  // database's now(), and starts listening for its notifications.
  virtual absl::Status Join(absl::Duration lease) = 0;
  // This daemon's current id (empty before Join).
  virtual std::string daemon_id() const = 0;
  // Extends this daemon's lease to now() + `lease`. FAILED_PRECONDITION
  // (IsLeaseLost) when it had already expired: every task is lost (the
  // store forgets them all); Join again. UNAVAILABLE when the database
  // cannot be reached.
  virtual absl::Status RenewDaemonLease(absl::Duration lease) = 0;

  // Claims up to `max_tasks` unfinished tasks nobody runs (no owner, or an
  // owner whose lease expired), those handed over to this daemon first
  // (work_routing_store.h), then oldest due first, skipping rows another
  // daemon is claiming (FOR UPDATE SKIP LOCKED) and, for a while, tasks
  // handed over to another live daemon.
  virtual absl::StatusOr<std::vector<ClaimedTask>> ClaimTasks(
      int max_tasks) = 0;
  // Gives `task_ids` up (only those this daemon still owns at the epoch it
  // holds), so others can claim them at once. Forgets them.
  virtual absl::Status ReleaseTasks(
      const std::vector<std::string>& task_ids) = 0;
  // Releases every task and deletes this daemon's row (drain).
  virtual absl::Status Leave() = 0;
  // The epoch this daemon holds for `task_id`, 0 when it does not own it.
  virtual uint64_t OwnedEpoch(absl::string_view task_id) const = 0;

  // Whether `task_id` is owned by a daemon whose lease is current; and by
  // which (empty: by none).
  virtual absl::StatusOr<std::string> OwnerOf(absl::string_view task_id) = 0;

  // Queues `message` (durable before `done`) and notifies the task's owner.
  // NOT_FOUND for an unknown task, FAILED_PRECONDITION once it ended (with
  // the message TaskRunner gives), duplicate for a repeated request id.
  virtual void EnqueueInboxAsync(InboxMessage message,
                                 TaskStore::Done<InboxReceipt> done) = 0;
  // The queued messages of `task_id`, oldest first.
  virtual absl::StatusOr<std::vector<InboxMessage>> ReadInbox(
      absl::string_view task_id) = 0;
  // Ids of the owned tasks that have queued messages.
  virtual absl::StatusOr<std::vector<std::string>> TasksWithInbox() = 0;
  // Deletes messages once applied.
  virtual void DeleteInboxAsync(std::vector<int64_t> ids,
                                TaskStore::StatusDone done) = 0;
};

}  // namespace corosched::server
