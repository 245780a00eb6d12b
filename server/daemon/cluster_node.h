#pragma once

#include <memory>

#include "absl/status/status.h"
#include "core/executor.h"
#include "core/time/clock.h"
#include "server/cluster/inbox_dispatcher.h"
#include "server/cluster/lease_keeper.h"
#include "server/cluster/work_router.h"
#include "server/metrics/cluster_metrics.h"
#include "server/store/cluster_store.h"
#include "server/tasks/delayed_calls.h"
#include "server/tasks/task_runner.h"
#include "server/tasks/task_service.h"

namespace corosched::server {

// A daemon's part in a cluster of daemons sharing one store
// (docs/scale-out.md): the LeaseKeeper and InboxDispatcher wired to the
// daemon's TaskRunner and TaskService, the timer that paces remote
// cancels and watches of tasks other daemons run, and, when the store
// routes work (a WorkRoutingStore: PostgresStore), the WorkRouter that
// hands tasks whose items wait here to daemons whose workers wait.
//
//   ClusterNode node(store, executor, runner, tasks, clock, options, m);
//   node.Start();       // join, claim, resume: before serving
//   node.BeginDrain();  // no more claims
//   ... executor stopped ...
//   node.StopTimer();   // remote cancels still waiting answer UNAVAILABLE
//   node.Leave();       // unfinished tasks go to the other daemons at once
//
// `clock` is the lease's (LeaseKeeper's: SteadyClock() in the daemon); the
// timer runs on the executor's.
//
// Thread-safety: as LeaseKeeper's. Everything passed must outlive the node;
// the node must outlive the gRPC server (its timer answers calls).
class ClusterNode {
 public:
  ClusterNode(ClusterStore& store, Executor& executor, TaskRunner& runner,
              TaskService& tasks, Clock& clock, LeaseKeeperOptions options,
              ClusterMetrics* metrics);
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // A clock that never goes back (std::chrono::steady_clock), for the
  // lease's local deadline: a wall clock stepped back would push the
  // deadline past the lease. Its Now() is not the date.
  static Clock& SteadyClock();

  DelayedCalls& timer() { return timer_; }
  InboxDispatcher& inbox() { return inbox_; }
  LeaseKeeper& keeper() { return keeper_; }

  // The router (if any) starts once the keeper joined.
  absl::Status Start();
  // No more claims, and no more handovers or advertisements: a draining
  // daemon attracts no work.
  void BeginDrain();
  void StopTimer() { timer_.Stop(); }
  absl::Status Leave() {
    if (router_ != nullptr) router_->Stop();
    return keeper_.Leave();
  }

 private:
  static LocalTaskCalls LocalCalls(TaskRunner& runner);
  static ClusterTaskHooks Hooks(Executor& executor, TaskRunner& runner,
                                TaskService& tasks);

  static WorkRouterHooks RouterHooks(TaskRunner& runner);

  DelayedCalls timer_;
  InboxDispatcher inbox_;
  LeaseKeeper keeper_;
  // Null when the store does not route work.
  std::unique_ptr<WorkRouter> router_;
};

}  // namespace corosched::server
