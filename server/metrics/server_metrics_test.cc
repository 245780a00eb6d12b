#include "server/metrics/server_metrics.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "server/metrics/test_families.h"

namespace corosched::server {
namespace {

using testing::FindFamily;
using testing::FindSeries;

double CounterValue(const std::vector<prometheus::MetricFamily>& families,
                    absl::string_view name, const testing::Labels& labels) {
  const prometheus::ClientMetric* series =
      FindSeries(FindFamily(families, name), labels);
  EXPECT_NE(series, nullptr) << name;
  return series == nullptr ? -1 : series->counter.value;
}

double GaugeValue(const std::vector<prometheus::MetricFamily>& families,
                  absl::string_view name, const testing::Labels& labels) {
  const prometheus::ClientMetric* series =
      FindSeries(FindFamily(families, name), labels);
  EXPECT_NE(series, nullptr) << name;
  return series == nullptr ? -1 : series->gauge.value;
}

TEST(ServerMetricsTest, EveryLabelledSeriesExistsAtZeroBeforeAnyEvent) {
  ServerMetrics metrics;
  metrics.SetSources(
      {.executor_stats = [] { return ExecutorStats(); },
       .task_counts = [] { return ServerMetrics::TaskCounts(); }});
  const auto families = metrics.Collect();
  EXPECT_EQ(CounterValue(families, "corosched_tasks_submitted_total", {}), 0);
  for (const char* outcome : {"completed", "failed", "cancelled"}) {
    EXPECT_EQ(CounterValue(families, "corosched_tasks_finished_total",
                           {{"outcome", outcome}}),
              0);
  }
  for (const char* source : {"self", "timer", "signal"}) {
    EXPECT_EQ(
        CounterValue(families, "corosched_wakes_total", {{"source", source}}),
        0);
  }
  for (const char* state :
       {"ready", "sleeping", "awaiting", "completed", "failed", "cancelled"}) {
    EXPECT_EQ(GaugeValue(families, "corosched_tasks", {{"state", state}}), 0);
  }
  EXPECT_EQ(GaugeValue(families, "corosched_buffered_wakes", {}), 0);
  EXPECT_EQ(GaugeValue(families, "corosched_build_info",
                       {{"version", COROSCHED_VERSION}}),
            1);
  const prometheus::MetricFamily* duration =
      FindFamily(families, "corosched_task_duration_seconds");
  ASSERT_NE(duration, nullptr);
  EXPECT_EQ(duration->metric.at(0).histogram.sample_count, 0u);
}

TEST(ServerMetricsTest, CountsTasksByOutcomeAndTheirDuration) {
  ServerMetrics metrics;
  for (int i = 0; i < 4; ++i) metrics.OnTaskSubmitted();
  metrics.OnTaskFinished(v1::TASK_STATUS_COMPLETED, absl::Microseconds(3));
  std::thread([&metrics] {
    metrics.OnTaskFinished(v1::TASK_STATUS_FAILED, absl::Milliseconds(20));
    metrics.OnTaskFinished(v1::TASK_STATUS_CANCELLED, absl::Seconds(2));
  }).join();
  metrics.OnTaskFinished(v1::TASK_STATUS_AWAITING, absl::Seconds(1));  // no end

  const auto families = metrics.Collect();
  EXPECT_EQ(CounterValue(families, "corosched_tasks_submitted_total", {}), 4);
  EXPECT_EQ(CounterValue(families, "corosched_tasks_finished_total",
                         {{"outcome", "completed"}}),
            1);
  EXPECT_EQ(CounterValue(families, "corosched_tasks_finished_total",
                         {{"outcome", "failed"}}),
            1);
  EXPECT_EQ(CounterValue(families, "corosched_tasks_finished_total",
                         {{"outcome", "cancelled"}}),
            1);
  const prometheus::ClientMetric::Histogram& duration =
      FindFamily(families, "corosched_task_duration_seconds")
          ->metric.at(0)
          .histogram;
  EXPECT_EQ(duration.sample_count, 3u);
  EXPECT_NEAR(duration.sample_sum, 2.020003, 1e-9);
  // Buckets resolve microseconds to seconds: 3us, 20ms and 2s land apart.
  ASSERT_EQ(duration.bucket.size(), 23u);
  EXPECT_EQ(duration.bucket.front().upper_bound, 1e-6);
  EXPECT_EQ(duration.bucket[21].upper_bound, 10.0);
  EXPECT_TRUE(std::isinf(duration.bucket[22].upper_bound));
  auto cumulative_at = [&](double bound) -> uint64_t {
    for (const auto& bucket : duration.bucket) {
      if (bucket.upper_bound == bound) return bucket.cumulative_count;
    }
    ADD_FAILURE() << "no bucket le=" << bound;
    return 0;
  };
  EXPECT_EQ(cumulative_at(2.5e-6), 0u);
  EXPECT_EQ(cumulative_at(5e-6), 1u);
  EXPECT_EQ(cumulative_at(0.01), 1u);
  EXPECT_EQ(cumulative_at(0.025), 2u);
  EXPECT_EQ(cumulative_at(1.0), 2u);
  EXPECT_EQ(cumulative_at(2.5), 3u);
}

TEST(ServerMetricsTest, WakesComeFromTheExecutorAndFromSignals) {
  ServerMetrics metrics;
  ExecutorStats stats;
  stats.timer_wakes = 7;
  metrics.SetSources({.executor_stats = [&stats] { return stats; }});
  for (int i = 0; i < 40; ++i) metrics.OnSelfWake();
  metrics.OnSignalAccepted();
  metrics.OnSignalAccepted();
  metrics.OnHeldSignalsChanged(2);
  metrics.OnHeldSignalsChanged(-1);

  auto families = metrics.Collect();
  EXPECT_EQ(
      CounterValue(families, "corosched_wakes_total", {{"source", "self"}}),
      40);
  EXPECT_EQ(
      CounterValue(families, "corosched_wakes_total", {{"source", "timer"}}),
      7);
  EXPECT_EQ(
      CounterValue(families, "corosched_wakes_total", {{"source", "signal"}}),
      2);
  EXPECT_EQ(GaugeValue(families, "corosched_buffered_wakes", {}), 1);
  EXPECT_EQ(FindFamily(families, "corosched_tasks"), nullptr);  // no store

  metrics.SetSources({});  // the executor is going away
  families = metrics.Collect();
  EXPECT_EQ(FindSeries(FindFamily(families, "corosched_wakes_total"),
                       {{"source", "timer"}}),
            nullptr);
  EXPECT_EQ(
      CounterValue(families, "corosched_wakes_total", {{"source", "signal"}}),
      2);
}

TEST(ServerMetricsTest, TasksByStateComeFromTheStoreAtScrapeTime) {
  ServerMetrics metrics;
  ServerMetrics::TaskCounts counts = {{v1::TASK_STATUS_AWAITING, 5},
                                      {v1::TASK_STATUS_COMPLETED, 9}};
  absl::Status store_status = absl::OkStatus();
  metrics.SetSources(
      {.task_counts = [&]() -> absl::StatusOr<ServerMetrics::TaskCounts> {
        if (!store_status.ok()) return store_status;
        return counts;
      }});
  auto families = metrics.Collect();
  EXPECT_EQ(GaugeValue(families, "corosched_tasks", {{"state", "awaiting"}}),
            5);
  EXPECT_EQ(GaugeValue(families, "corosched_tasks", {{"state", "completed"}}),
            9);
  EXPECT_EQ(GaugeValue(families, "corosched_tasks", {{"state", "ready"}}), 0);
  counts[v1::TASK_STATUS_AWAITING] = 2;
  EXPECT_EQ(
      GaugeValue(metrics.Collect(), "corosched_tasks", {{"state", "awaiting"}}),
      2);
  // A store that fails leaves the family out rather than reporting zeros.
  store_status = absl::UnavailableError("disk gone");
  families = metrics.Collect();
  EXPECT_EQ(FindFamily(families, "corosched_tasks"), nullptr);
}

TEST(ServerMetricsTest, ExpositionFollowsPrometheusNaming) {
  ServerMetrics metrics;
  const std::string text =
      prometheus::TextSerializer().Serialize(metrics.Collect());
  EXPECT_NE(text.find("# TYPE corosched_tasks_submitted_total counter"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE corosched_task_duration_seconds histogram"),
            std::string::npos);
  EXPECT_NE(text.find("corosched_task_duration_seconds_bucket{le=\"1e-06\"}"),
            std::string::npos);
  EXPECT_EQ(text.find("task_id"), std::string::npos);
}

}  // namespace
}  // namespace corosched::server
