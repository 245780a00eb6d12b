#pragma once

// For the cluster tests: one daemon of a test cluster, on a FakeClusterStore
// connected to the shared FakeClusterDatabase, with its own executor,
// runner and TaskService wired by ClusterNode as corosched-server wires
// them. Nothing is started: a test drives the LeaseKeeper's steps itself on
// the lease clock it moves (or calls Start).

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "core/executor.h"
#include "core/time/clock.h"
#include "gtest/gtest.h"
#include "server/daemon/cluster_node.h"
#include "server/daemon/config.h"
#include "server/metrics/cluster_metrics.h"
#include "server/store/namespace_keys.h"
#include "server/store/testing/fake_cluster_store.h"
#include "server/tasks/namespace_admission.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_runner.h"
#include "server/tasks/task_service.h"

namespace corosched::server {

// WAIT awaits `go` (no timeout), then completes with "went".
inline v1::TaskDefinition AwaitGoDefinition() {
  v1::TaskDefinition definition;
  definition.set_name("await-go");
  definition.set_initial("WAIT");
  auto& states = *definition.mutable_states();
  (*states["WAIT"].mutable_await()->mutable_signals())["go"] = "DONE";
  states["DONE"].mutable_complete()->set_result("went");
  return definition;
}

// The store's key of task `id` of the default namespace.
inline std::string Key(const std::string& id) {
  return NamespacedKey(kDefaultNamespaceName, id);
}

inline LeaseKeeperOptions TestLeaseOptions() {
  LeaseKeeperOptions options;
  options.lease = absl::Seconds(30);
  options.margin = absl::Seconds(5);
  options.inbox_sweep_interval = absl::Seconds(5);
  return options;
}

class TestDaemon {
 public:
  TestDaemon(FakeClusterDatabase& database, ManualClock& lease_clock,
             LeaseKeeperOptions options = TestLeaseOptions())
      : store(database),
        executor(*Executor::Create({.workers = 2})),
        runner(std::make_unique<TaskRunner>(*executor, store, hub)),
        admission(*executor->clock(), NamespaceLimits{}),
        tasks(std::make_unique<TaskService>(
            *executor, store, *runner,
            TaskServiceOptions{.admission = &admission})),
        node(std::make_unique<ClusterNode>(store, *executor, *runner, *tasks,
                                           lease_clock, options, &metrics)) {}
  ~TestDaemon() {
    node->StopTimer();
    node->keeper().Stop();
    runner->BeginShutdown();
    executor->Shutdown(ShutdownMode::kCancel);
    node.reset();
    tasks.reset();
    runner.reset();
    executor.reset();
  }

  // Joins (the keeper's first step).
  void Join() {
    node->keeper().RenewIfDue();
    ASSERT_FALSE(store.daemon_id().empty());
  }

  // Submits a task of `definition` with the client-chosen id `id` (in the
  // default namespace), owned by this daemon.
  absl::StatusOr<v1::SubmitTaskResponse> Submit(
      const std::string& id,
      const v1::TaskDefinition& definition = AwaitGoDefinition()) {
    v1::SubmitTaskRequest request;
    request.set_task_id(id);
    *request.mutable_definition() = definition;
    absl::Notification answered;
    absl::StatusOr<v1::SubmitTaskResponse> result;
    tasks->SubmitTask(kDefaultNamespaceName, request,
                      [&](absl::StatusOr<v1::SubmitTaskResponse> response) {
                        result = std::move(response);
                        answered.Notify();
                      });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return result;
  }

  absl::StatusOr<v1::WakeTaskResponse> Wake(const std::string& id,
                                            const std::string& signal,
                                            const std::string& request_id) {
    v1::WakeTaskRequest request;
    request.set_task_id(id);
    request.set_signal(signal);
    request.set_request_id(request_id);
    absl::Notification answered;
    absl::StatusOr<v1::WakeTaskResponse> result;
    tasks->WakeTask(kDefaultNamespaceName, request,
                    [&](absl::StatusOr<v1::WakeTaskResponse> response) {
                      result = std::move(response);
                      answered.Notify();
                    });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return result;
  }

  absl::StatusOr<v1::Task> Cancel(const std::string& id) {
    v1::CancelTaskRequest request;
    request.set_task_id(id);
    absl::Notification answered;
    absl::StatusOr<v1::Task> result;
    tasks->CancelTask(kDefaultNamespaceName, request,
                      [&](absl::StatusOr<v1::Task> task) {
                        result = std::move(task);
                        answered.Notify();
                      });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return result;
  }

  v1::TaskStatus Status(const std::string& id) {
    absl::StatusOr<TaskRecord> record = store.GetTask(Key(id));
    return record.ok() ? record->snapshot.status()
                       : v1::TASK_STATUS_UNSPECIFIED;
  }

  ClusterMetrics metrics;
  FakeClusterStore store;
  StreamHub hub;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<TaskRunner> runner;
  // Before the executor goes: its task futures hold slots of it.
  NamespaceAdmission admission;
  std::unique_ptr<TaskService> tasks;
  std::unique_ptr<ClusterNode> node;
};

// The value of ClusterMetrics' family `name` (-1 when it has none).
inline double MetricValue(const ClusterMetrics& metrics,
                          const std::string& name) {
  for (const prometheus::MetricFamily& family : metrics.Collect()) {
    if (family.name != name || family.metric.empty()) continue;
    return family.type == prometheus::MetricType::Gauge
               ? family.metric[0].gauge.value
               : family.metric[0].counter.value;
  }
  return -1;
}

// Polls `condition` (a store's or runner's state, which other threads
// change) until it holds, for at most 20 s.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

}  // namespace corosched::server
