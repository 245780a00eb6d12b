#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "server/auth/auth_observer.h"

namespace corosched::server {

// Authentication and authorization as Prometheus metrics: an AuthObserver
// to give the authorizer (MakeAuthorizer), and a Collectable.
//
//   auto metrics = std::make_shared<AuthMetrics>();
//   MakeAuthorizer(config, clock, metrics.get());
//   exposer.RegisterCollectable(metrics);
//
// Exported (counters, every series present from 0; bounded labels):
//   corosched_auth_denials_total{code,role}   refused calls; code is
//     unauthenticated, permission_denied, resource_exhausted or
//     invalid_argument; role is read, submit, wake, work or admin
//   corosched_auth_reloads_total{result}      the tokens file or JWT key
//     re-read after a change: result ok, or failed (previous kept)
//
// Thread-safety: every method from any thread; each event is one relaxed
// atomic increment.
class AuthMetrics final : public AuthObserver, public prometheus::Collectable {
 public:
  void OnDenied(absl::StatusCode code, Role role) override;
  void OnCredentialsReloaded(bool ok) override;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  static constexpr size_t kCodes = 4;
  static constexpr size_t kRoles = 5;

  std::array<std::array<std::atomic<uint64_t>, kRoles>, kCodes> denials_{};
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
};

}  // namespace corosched::server
