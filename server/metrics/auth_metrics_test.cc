#include "server/metrics/auth_metrics.h"

#include "gtest/gtest.h"
#include "server/metrics/test_families.h"

namespace corosched::server {
namespace {

using testing::FindFamily;
using testing::FindSeries;

TEST(AuthMetricsTest, CountsDenialsByCodeAndRoleFromZero) {
  AuthMetrics metrics;
  metrics.OnDenied(absl::StatusCode::kPermissionDenied, Role::kSubmit);
  metrics.OnDenied(absl::StatusCode::kPermissionDenied, Role::kSubmit);
  metrics.OnDenied(absl::StatusCode::kUnauthenticated, Role::kRead);
  const auto families = metrics.Collect();
  const auto* denials = FindFamily(families, "corosched_auth_denials_total");
  ASSERT_NE(denials, nullptr);
  EXPECT_EQ(denials->metric.size(), 20u);
  const auto* submit =
      FindSeries(denials, {{"code", "permission_denied"}, {"role", "submit"}});
  ASSERT_NE(submit, nullptr);
  EXPECT_EQ(submit->counter.value, 2);
  EXPECT_EQ(FindSeries(denials, {{"code", "unauthenticated"}, {"role", "read"}})
                ->counter.value,
            1);
  EXPECT_EQ(
      FindSeries(denials, {{"code", "resource_exhausted"}, {"role", "work"}})
          ->counter.value,
      0);
}

TEST(AuthMetricsTest, CountsReloadsByResult) {
  AuthMetrics metrics;
  metrics.OnCredentialsReloaded(true);
  metrics.OnCredentialsReloaded(false);
  metrics.OnCredentialsReloaded(false);
  const auto families = metrics.Collect();
  const auto* reloads = FindFamily(families, "corosched_auth_reloads_total");
  EXPECT_EQ(FindSeries(reloads, {{"result", "ok"}})->counter.value, 1);
  EXPECT_EQ(FindSeries(reloads, {{"result", "failed"}})->counter.value, 2);
}

}  // namespace
}  // namespace corosched::server
