#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/executor.h"
#include "core/metrics/executor_metrics.h"
#include "grpcpp/server_builder.h"
#include "server/metrics/auth_metrics.h"
#include "server/metrics/cluster_metrics.h"
#include "server/metrics/grpc_metrics.h"
#include "server/metrics/metrics_endpoint.h"
#include "server/metrics/namespace_metrics.h"
#include "server/metrics/server_metrics.h"
#include "server/metrics/store_metrics.h"
#include "server/metrics/work_metrics.h"
#include "server/store/task_store.h"
#include "server/work/work_queues.h"

namespace corosched::server {

// Every metric the daemon exports, and the /metrics endpoint that serves
// them (docs/operations.md lists the metrics). The Daemon makes one first
// and hands its parts to what reports to them:
//
//   DaemonMetrics metrics(config.workers, config.metrics_listen);
//   Executor::Create({..., .observer = metrics.executor_observer()});
//   SqliteStoreOptions{..., .observer = metrics.commit_observer()};
//   MakeAuthorizer(config, clock, metrics.auth_observer());
//   TaskRunner runner(executor, store, hub, &metrics.tasks(),
//                     metrics.work_observer());
//   metrics.AddInterceptor(builder);  // before BuildAndStart
//   absl::Status serving =
//       metrics.Serve(executor, store, &runner.work_queues());
//   ... metrics.address() ...
//   metrics.Detach();  // before the executor, store or runner are destroyed
//
// With an empty `listen` nothing is served and no gRPC interceptor is
// added; the other hooks still count (they cost next to nothing).
//
// Thread-safety: Serve, Detach and destruction on one thread (the
// Daemon's); the parts as their own comments say. DaemonMetrics must
// outlive the executor, the store, the tasks and the work queues that
// report to it.
class DaemonMetrics {
 public:
  // `workers`: the executor's worker count (0: one per hardware thread).
  // `listen`: where to serve /metrics (host:port), or empty for nowhere.
  DaemonMetrics(int workers, std::string listen);
  DaemonMetrics(const DaemonMetrics&) = delete;
  DaemonMetrics& operator=(const DaemonMetrics&) = delete;

  ExecutorObserver* executor_observer() { return executor_.get(); }
  CommitObserver* commit_observer() { return store_.get(); }
  ServerMetrics& tasks() { return *tasks_; }
  WorkQueuesObserver* work_observer() { return work_.get(); }
  AuthObserver* auth_observer() { return auth_.get(); }
  // Per-namespace metrics: TaskService reports submits to it, and the
  // Daemon sets its source (NamespaceAdmission's counts); Detach clears it.
  NamespaceMetrics& namespaces() { return *namespaces_; }
  // Scale-out: what the ClusterNode reports (at 0 on a daemon's own store).
  ClusterMetrics& cluster() { return *cluster_; }

  // Measures every call the server will serve (unless metrics are off).
  void AddInterceptor(grpc::ServerBuilder& builder);

  // Reads `executor`, `store` and `work` (if not null) at each scrape from
  // now on, and serves /metrics on `listen` (unless it is empty).
  // UNAVAILABLE when the address cannot be bound; see MetricsEndpoint.
  // `security`: HTTPS and basic auth, as MetricsEndpoint::Start takes them.
  absl::Status Serve(Executor& executor, TaskStore& store,
                     WorkQueues* work = nullptr,
                     const MetricsEndpointSecurity& security = {});
  // The bound address ("127.0.0.1:43127"), or empty when not serving.
  std::string address() const;

  // Stops reading the executor, the store and the work queues (scrapes go
  // on with what the metrics hold themselves). Idempotent.
  void Detach();

 private:
  const std::string listen_;
  const std::shared_ptr<ExecutorMetrics> executor_;
  const std::shared_ptr<ServerMetrics> tasks_;
  const std::shared_ptr<GrpcMetrics> grpc_;
  const std::shared_ptr<StoreMetrics> store_;
  const std::shared_ptr<WorkMetrics> work_;
  const std::shared_ptr<AuthMetrics> auth_;
  const std::shared_ptr<NamespaceMetrics> namespaces_;
  const std::shared_ptr<ClusterMetrics> cluster_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

}  // namespace corosched::server
