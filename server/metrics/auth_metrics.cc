#include "server/metrics/auth_metrics.h"

#include <string>

#include "core/metrics/metric_families.h"
#include "server/auth/denial_log.h"

namespace corosched::server {
namespace {

constexpr absl::StatusCode kCountedCodes[] = {
    absl::StatusCode::kUnauthenticated, absl::StatusCode::kPermissionDenied,
    absl::StatusCode::kResourceExhausted, absl::StatusCode::kInvalidArgument};

constexpr Role kAllRoles[] = {Role::kRead, Role::kSubmit, Role::kWake,
                              Role::kWork, Role::kAdmin};

}  // namespace

void AuthMetrics::OnDenied(absl::StatusCode code, Role role) {
  for (size_t c = 0; c < kCodes; ++c) {
    if (kCountedCodes[c] != code) continue;
    // Relaxed: a counter orders nothing else.
    denials_[c][static_cast<size_t>(role)].fetch_add(1,
                                                     std::memory_order_relaxed);
  }
}

void AuthMetrics::OnCredentialsReloaded(bool ok) {
  (ok ? reloads_ok_ : reloads_failed_).fetch_add(1, std::memory_order_relaxed);
}

std::vector<prometheus::MetricFamily> AuthMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  prometheus::MetricFamily denials = NewFamily(
      "corosched_auth_denials_total",
      "Calls refused by authentication, authorization or a per-principal or "
      "per-connection limit, by status code and the role asked for.",
      prometheus::MetricType::Counter);
  for (size_t c = 0; c < kCodes; ++c) {
    for (Role role : kAllRoles) {
      AddSample(denials,
                double(denials_[c][static_cast<size_t>(role)].load(
                    std::memory_order_relaxed)),
                {{"code", CodeLabel(kCountedCodes[c])},
                 {"role", std::string(RoleName(role))}});
    }
  }
  families.push_back(std::move(denials));
  prometheus::MetricFamily reloads = NewFamily(
      "corosched_auth_reloads_total",
      "Re-reads of the tokens file or the JWT key after they changed; "
      "failed ones kept the previous credentials.",
      prometheus::MetricType::Counter);
  AddSample(reloads, double(reloads_ok_.load(std::memory_order_relaxed)),
            {{"result", "ok"}});
  AddSample(reloads, double(reloads_failed_.load(std::memory_order_relaxed)),
            {{"result", "failed"}});
  families.push_back(std::move(reloads));
  return families;
}

}  // namespace corosched::server
