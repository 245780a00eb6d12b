#include "server/metrics/grpc_metrics.h"

#include <chrono>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/metrics/metric_families.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "corosched/v1/scheduler.pb.h"
#include "google/protobuf/descriptor.h"

namespace corosched::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Measures one call; see GrpcMetrics' class comment.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(std::shared_ptr<GrpcMetrics> metrics, int method)
      : metrics_(std::move(metrics)),
        method_(method),
        start_(std::chrono::steady_clock::now()) {}
  MetricsInterceptor(const MetricsInterceptor&) = delete;
  MetricsInterceptor& operator=(const MetricsInterceptor&) = delete;

  ~MetricsInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!recorded_ && methods->QueryInterceptionHookPoint(
                          InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
      recorded_ = true;
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    metrics_->Record(
        method_, code,
        absl::FromChrono(std::chrono::steady_clock::now() - start_));
  }

  const std::shared_ptr<GrpcMetrics> metrics_;
  const int method_;
  const std::chrono::steady_clock::time_point start_;
  // Interceptor calls for one call are serialized by gRPC.
  bool recorded_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(std::shared_ptr<GrpcMetrics> metrics)
      : metrics_(std::move(metrics)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_,
                                  metrics_->MethodIndex(info->method()));
  }

 private:
  const std::shared_ptr<GrpcMetrics> metrics_;
};

// The services the daemon serves, with their methods' short names.
std::vector<std::pair<std::string, std::vector<std::string>>> KnownServices() {
  std::vector<std::pair<std::string, std::vector<std::string>>> services = {
      {"grpc.health.v1.Health", {"Check", "Watch"}},
      {"grpc.reflection.v1alpha.ServerReflection", {"ServerReflectionInfo"}},
  };
  // The generated pool knows the service: scheduler.pb.cc is linked in.
  const google::protobuf::ServiceDescriptor* scheduler =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::Scheduler::service_full_name());
  std::vector<std::string> methods;
  for (int i = 0; scheduler != nullptr && i < scheduler->method_count(); ++i) {
    methods.push_back(scheduler->method(i)->name());
  }
  services.emplace_back(v1::Scheduler::service_full_name(), std::move(methods));
  return services;
}

}  // namespace

GrpcMetrics::GrpcMetrics() {
  for (const auto& [service, methods] : KnownServices()) {
    for (const std::string& method : methods) {
      method_index_[absl::StrCat("/", service, "/", method)] =
          static_cast<int>(method_labels_.size());
      method_labels_.push_back(method);
    }
  }
  method_labels_.push_back("unknown");
  absl::MutexLock lock(&mu_);
  series_.resize(method_labels_.size() * kCodes);
}

int GrpcMetrics::MethodIndex(absl::string_view full_method) const {
  auto it = method_index_.find(full_method);
  if (it != method_index_.end()) return it->second;
  return static_cast<int>(method_labels_.size()) - 1;
}

void GrpcMetrics::Record(int method, grpc::StatusCode code,
                         absl::Duration duration) {
  int code_index = static_cast<int>(code);
  if (code_index < 0 || code_index >= kCodes) code_index = grpc::UNKNOWN;
  const size_t index = static_cast<size_t>(method) * kCodes + code_index;
  absl::MutexLock lock(&mu_);
  std::unique_ptr<ShardedHistogram>& series = series_.at(index);
  if (series == nullptr) series = std::make_unique<ShardedHistogram>(1);
  series->Record(0, absl::ToInt64Nanoseconds(duration));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcMetrics::NewInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(shared_from_this());
}

std::vector<prometheus::MetricFamily> GrpcMetrics::Collect() const {
  prometheus::MetricFamily family =
      NewFamily("corosched_grpc_request_duration_seconds",
                "gRPC calls, from their start to their status being sent, by "
                "method and status code.",
                prometheus::MetricType::Histogram);
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < series_.size(); ++i) {
    if (series_[i] == nullptr) continue;
    prometheus::ClientMetric& metric = family.metric.emplace_back();
    metric.label = {
        {"method", method_labels_[i / kCodes]},
        {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(
                     static_cast<int>(i % kCodes)))}};
    metric.histogram = series_[i]->Snapshot();
  }
  std::vector<prometheus::MetricFamily> families;
  families.push_back(std::move(family));
  return families;
}

}  // namespace corosched::server
