#include "server/daemon/cluster_node.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace corosched::server {
namespace {

class SteadyClockImpl final : public Clock {
 public:
  absl::Time Now() const override {
    return absl::UnixEpoch() +
           absl::FromChrono(
               std::chrono::steady_clock::now().time_since_epoch());
  }
  absl::Duration RealTimeUntil(absl::Time deadline) const override {
    return deadline - Now();
  }
};

}  // namespace

Clock& ClusterNode::SteadyClock() {
  static SteadyClockImpl* const clock = new SteadyClockImpl();
  return *clock;
}

ClusterNode::ClusterNode(ClusterStore& store, Executor& executor,
                         TaskRunner& runner, TaskService& tasks, Clock& clock,
                         LeaseKeeperOptions options, ClusterMetrics* metrics)
    // The runner measures a remote cancel's wait by the executor's clock.
    : timer_(*executor.clock()),
      inbox_(store, LocalCalls(runner), metrics),
      keeper_(store, clock, inbox_, Hooks(executor, runner, tasks), options,
              metrics) {
  tasks.RouteToOwners(store, timer_);
  // Only stores several daemons share over a database route work; the
  // cluster tests' fake does not.
  if (auto* routing = dynamic_cast<WorkRoutingStore*>(&store)) {
    router_ =
        std::make_unique<WorkRouter>(*routing, clock, RouterHooks(runner));
  }
}

absl::Status ClusterNode::Start() {
  absl::Status started = keeper_.Start();
  if (started.ok() && router_ != nullptr) router_->Start();
  return started;
}

void ClusterNode::BeginDrain() {
  keeper_.StopClaiming();
  if (router_ != nullptr) router_->Stop();
}

WorkRouterHooks ClusterNode::RouterHooks(TaskRunner& runner) {
  WorkRouterHooks hooks;
  hooks.stats = [&runner] { return runner.work_queues().Stats(); };
  hooks.queued = [&runner](const std::string& queue, size_t max) {
    return runner.work_queues().QueuedTasks(queue, max);
  };
  hooks.hand_over = [&runner](const std::string& id,
                              absl::FunctionRef<void()> hand_over) {
    return runner.HandOver(id, hand_over);
  };
  return hooks;
}

LocalTaskCalls ClusterNode::LocalCalls(TaskRunner& runner) {
  LocalTaskCalls calls;
  calls.wake = [&runner](const std::string& id, v1::Signal signal,
                         const std::string& request_id,
                         LocalTaskCalls::Done done) {
    runner.Wake(
        id, std::move(signal), request_id,
        [done = std::move(done)](
            absl::StatusOr<v1::WakeTaskResponse> answer) mutable {
          std::move(done)(answer.status());
        },
        TaskRunner::Reach::kHere);
  };
  calls.cancel = [&runner](const std::string& id, std::string reason,
                           LocalTaskCalls::Done done) {
    runner.Cancel(
        id, std::move(reason),
        [done = std::move(done)](absl::StatusOr<TaskRecord> task) mutable {
          std::move(done)(task.status());
        },
        TaskRunner::Reach::kHere);
  };
  return calls;
}

ClusterTaskHooks ClusterNode::Hooks(Executor& executor, TaskRunner& runner,
                                    TaskService& tasks) {
  ClusterTaskHooks hooks;
  hooks.free_capacity = [&executor]() -> size_t {
    const ExecutorStats stats = executor.Stats();
    return stats.live_tasks >= stats.max_tasks
               ? 0
               : stats.max_tasks - stats.live_tasks;
  };
  hooks.resume = [&tasks](std::vector<TaskRecord> records) {
    return tasks.ResumeClaimed(std::move(records));
  };
  hooks.abandon = [&runner](const std::string& id) { runner.Abandon(id); };
  hooks.abandon_all = [&runner] { return runner.AbandonAll(); };
  hooks.live_count = [&runner] { return runner.live_count(); };
  return hooks;
}

}  // namespace corosched::server
