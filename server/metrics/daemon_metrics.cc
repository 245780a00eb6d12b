#include "server/metrics/daemon_metrics.h"

#include <utility>
#include <vector>

namespace corosched::server {

DaemonMetrics::DaemonMetrics(int workers, std::string listen)
    : listen_(std::move(listen)),
      executor_(std::make_shared<ExecutorMetrics>(workers)),
      tasks_(std::make_shared<ServerMetrics>()),
      grpc_(std::make_shared<GrpcMetrics>()),
      store_(std::make_shared<StoreMetrics>()),
      work_(std::make_shared<WorkMetrics>()),
      auth_(std::make_shared<AuthMetrics>()),
      namespaces_(std::make_shared<NamespaceMetrics>()),
      cluster_(std::make_shared<ClusterMetrics>()) {}

void DaemonMetrics::AddInterceptor(grpc::ServerBuilder& builder) {
  if (listen_.empty()) return;  // nobody would see what it measures
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      creators;
  creators.push_back(grpc_->NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(creators));
}

absl::Status DaemonMetrics::Serve(Executor& executor, TaskStore& store,
                                  WorkQueues* work,
                                  const MetricsEndpointSecurity& security) {
  executor_->SetStatsSource([&executor] { return executor.Stats(); });
  tasks_->SetSources({
      .executor_stats = [&executor] { return executor.Stats(); },
      .task_counts = [&store] { return store.CountTasksByStatus(); },
  });
  if (work != nullptr) {
    work_->SetStatsSource([work] { return work->Stats(); });
  }
  if (listen_.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
      MetricsEndpoint::Start(listen_,
                             {executor_, tasks_, grpc_, store_, work_, auth_,
                              namespaces_, cluster_},
                             {}, security);
  if (!endpoint.ok()) return endpoint.status();
  endpoint_ = *std::move(endpoint);
  return absl::OkStatus();
}

std::string DaemonMetrics::address() const {
  return endpoint_ == nullptr ? std::string() : endpoint_->address();
}

void DaemonMetrics::Detach() {
  executor_->SetStatsSource(nullptr);
  tasks_->SetSources({});
  work_->SetStatsSource(nullptr);
  namespaces_->SetUnfinishedSource(nullptr);
}

}  // namespace corosched::server
