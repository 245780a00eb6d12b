#pragma once

// What daemons sharing a store (cluster_store.h) tell each other so that a
// worker may poll any daemon for the items of any task: which daemons have
// workers waiting on which work queue, and the handover of a task whose
// item waits on a daemon without workers to a daemon with some
// (WorkRouter, server/cluster/work_router.h; docs/scale-out.md, "Workers on
// any daemon").
//
// Advertisements. A daemon whose work queue has consumers waiting (parked
// polls, streams with credit) advertises (queue, this daemon, how many)
// until a time a few seconds ahead by the database's clock, and renews it
// while they wait. FindConsumers returns only advertisements still current
// of other daemons whose daemon lease is current.
//
// Handover. HandOverAsync gives an owned task up as ReleaseTasks does, but
// names the daemon it is for: the row gets owner = NULL and handoff_to =
// that daemon, fenced by the epoch this store holds (refused IsLeaseLost
// otherwise), and the target is notified at once (on_handover). It is a
// write of the task queued behind every write of it queued before, so the
// target resumes from a record that shows everything the giver recorded.
// The store forgets the task when the handover is applied, so writes of it
// queued after the handover are refused. ClaimTasks takes tasks handed to the
// claiming daemon first; other daemons leave a task handed to a live daemon
// alone for kHandoverReserve after the handover, then claim it as any unowned
// task, so a target that dies or is full loses nothing. A handover whose write
// fails for want of the database releases the task once the database can
// be reached again.
//
// Thread-safety: every method from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/task_store.h"

namespace corosched::server {

// How long a task handed to a live daemon is left for it alone.
inline constexpr absl::Duration kHandoverReserve = absl::Seconds(5);

struct QueueConsumers {
  // The work queue's key (namespace-qualified, as WorkQueues names it).
  std::string queue;
  std::string daemon_id;
  // Consumers waiting there when it was advertised.
  uint64_t consumers = 0;
};

class WorkRoutingStore {
 public:
  virtual ~WorkRoutingStore() = default;

  // Advertises this daemon's waiting consumers on each queue of `queues`
  // (daemon_id ignored) as current until `ttl` from now. FAILED_PRECONDITION
  // before Join; UNAVAILABLE when the database cannot be reached.
  virtual absl::Status AdvertiseConsumers(
      const std::vector<QueueConsumers>& queues, absl::Duration ttl) = 0;
  // The current advertisements of other live daemons on any of `queues`.
  virtual absl::StatusOr<std::vector<QueueConsumers>> FindConsumers(
      const std::vector<std::string>& queues) = 0;
  // Hands owned task `task_id` over to daemon `target` (see above). `done`
  // gets OK once it is committed, IsLeaseLost when this daemon did not own
  // the task (or it ended), UNAVAILABLE when the database could not be
  // reached.
  virtual void HandOverAsync(std::string task_id, std::string target,
                             TaskStore::StatusDone done) = 0;
};

}  // namespace corosched::server
