#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/metrics/sharded_histogram.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace corosched::server {

// gRPC request latency by method and status code, measured by a server
// interceptor, so no handler needs to know about it:
//
//   auto metrics = std::make_shared<GrpcMetrics>();
//   std::vector<std::unique_ptr<
//       grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(metrics->NewInterceptorFactory());
//   builder.experimental().SetInterceptorCreators(std::move(creators));
//   exposer.RegisterCollectable(metrics);
//
// Exported: corosched_grpc_request_duration_seconds{method,code}, a
// histogram from the call's start (its interceptor is made) to the status
// being sent; for a stream that is the stream's whole life. `method` is
// the short name ("SubmitTask", health's "Check") of a method the daemon
// serves, or "unknown", so a client cannot add label values by calling
// made-up methods; `code` is the canonical name ("OK",
// "RESOURCE_EXHAUSTED"). A call that ends without sending a status (the
// client went away) counts as CANCELLED. Only series that have seen a call
// are exported.
//
// Thread-safety: every method from any thread. The factory and the
// interceptors it makes hold the GrpcMetrics alive.
class GrpcMetrics final : public prometheus::Collectable,
                          public std::enable_shared_from_this<GrpcMetrics> {
 public:
  GrpcMetrics();

  // The method's index for Record, from its full name as gRPC gives it
  // ("/corosched.v1.Scheduler/SubmitTask"); unknown names share one index.
  int MethodIndex(absl::string_view full_method) const;
  // Records one finished call.
  void Record(int method, grpc::StatusCode code, absl::Duration duration)
      ABSL_LOCKS_EXCLUDED(mu_);

  // REQUIRES: this GrpcMetrics is owned by a std::shared_ptr.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

  // prometheus::Collectable.
  std::vector<prometheus::MetricFamily> Collect() const override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Status codes 0 (OK) to 16 (UNAUTHENTICATED).
  static constexpr int kCodes = 17;

  // The `method` label of each index; the last is "unknown".
  std::vector<std::string> method_labels_;
  absl::flat_hash_map<std::string, int> method_index_;

  mutable absl::Mutex mu_;
  // One histogram per (method, code), at method * kCodes + code, made at
  // its first call. Written under mu_, so one shard is enough.
  std::vector<std::unique_ptr<ShardedHistogram>> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
