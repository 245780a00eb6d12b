#include "server/metrics/namespace_metrics.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/metrics/test_families.h"

namespace corosched::server {
namespace {

using testing::FindFamily;
using testing::FindSeries;

double Value(const std::vector<prometheus::MetricFamily>& families,
             const std::string& name, const testing::Labels& labels) {
  const prometheus::ClientMetric* series =
      FindSeries(FindFamily(families, name), labels);
  if (series == nullptr) return -1;
  return name == "corosched_namespace_tasks" ? series->gauge.value
                                             : series->counter.value;
}

TEST(NamespaceMetricsTest, DefaultSeriesExistFromZero) {
  NamespaceMetrics metrics;
  auto families = metrics.Collect();
  EXPECT_EQ(
      Value(families, "corosched_namespace_tasks", {{"namespace", "default"}}),
      0);
  for (const char* outcome : {"admitted", "rate_limited", "at_bound"}) {
    EXPECT_EQ(Value(families, "corosched_namespace_submits_total",
                    {{"namespace", "default"}, {"outcome", outcome}}),
              0)
        << outcome;
  }
}

TEST(NamespaceMetricsTest, CountsSubmitsAndReadsUnfinishedTasks) {
  NamespaceMetrics metrics;
  metrics.OnSubmit("b", NamespaceMetrics::SubmitOutcome::kAdmitted);
  metrics.OnSubmit("b", NamespaceMetrics::SubmitOutcome::kAdmitted);
  metrics.OnSubmit("b", NamespaceMetrics::SubmitOutcome::kRateLimited);
  metrics.OnSubmit("a", NamespaceMetrics::SubmitOutcome::kAtBound);
  metrics.SetUnfinishedSource([] {
    return std::vector<std::pair<std::string, uint64_t>>{{"b", 2}, {"c", 5}};
  });
  auto families = metrics.Collect();
  EXPECT_EQ(Value(families, "corosched_namespace_submits_total",
                  {{"namespace", "b"}, {"outcome", "admitted"}}),
            2);
  EXPECT_EQ(Value(families, "corosched_namespace_submits_total",
                  {{"namespace", "b"}, {"outcome", "rate_limited"}}),
            1);
  EXPECT_EQ(Value(families, "corosched_namespace_submits_total",
                  {{"namespace", "a"}, {"outcome", "at_bound"}}),
            1);
  EXPECT_EQ(Value(families, "corosched_namespace_tasks", {{"namespace", "b"}}),
            2);
  EXPECT_EQ(Value(families, "corosched_namespace_tasks", {{"namespace", "c"}}),
            5);
  // Idle: still there, at 0.
  metrics.SetUnfinishedSource(nullptr);
  families = metrics.Collect();
  EXPECT_EQ(Value(families, "corosched_namespace_tasks", {{"namespace", "c"}}),
            0);
}

TEST(NamespaceMetricsTest, NamespacesPastTheLabelLimitShareOther) {
  NamespaceMetrics metrics;
  for (size_t i = 0; i < 2 * NamespaceMetrics::kMaxNamespaceLabels; ++i) {
    metrics.OnSubmit(absl::StrCat("ns", i),
                     NamespaceMetrics::SubmitOutcome::kAdmitted);
  }
  auto families = metrics.Collect();
  const prometheus::MetricFamily* tasks =
      FindFamily(families, "corosched_namespace_tasks");
  ASSERT_NE(tasks, nullptr);
  EXPECT_EQ(tasks->metric.size(), NamespaceMetrics::kMaxNamespaceLabels);
  EXPECT_EQ(Value(families, "corosched_namespace_submits_total",
                  {{"namespace", "ns0"}, {"outcome", "admitted"}}),
            1);
  // default and ns0..ns97 have labels; the other 102 share _other.
  EXPECT_EQ(Value(families, "corosched_namespace_submits_total",
                  {{"namespace", "_other"}, {"outcome", "admitted"}}),
            2 * NamespaceMetrics::kMaxNamespaceLabels -
                (NamespaceMetrics::kMaxNamespaceLabels - 2));
}

}  // namespace
}  // namespace corosched::server
