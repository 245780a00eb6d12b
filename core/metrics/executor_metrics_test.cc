#include "core/metrics/executor_metrics.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/executor.h"
#include "core/testing/test_futures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace corosched {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Exposition(const ExecutorMetrics& metrics) {
  return prometheus::TextSerializer().Serialize(metrics.Collect());
}

// The value of the sample line that starts with `series` (name and labels,
// exactly as exposed), or -1 when there is none.
double Sample(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  size_t at = text.find("\n" + prefix);
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + 1 + prefix.size(), nullptr);
}

ExecutorStats FakeStats() {
  ExecutorStats stats;
  stats.live_tasks = 7;
  stats.max_tasks = 1024;
  stats.injection_queue_depth = 3;
  stats.worker_queue_depths = {4, 5};
  stats.polls = 100;
  stats.steals = 6;
  stats.parks = 9;
  return stats;
}

TEST(ExecutorMetricsTest, ExposesEveryExecutorMetricByName) {
  ExecutorMetrics metrics(2);
  metrics.SetStatsSource(FakeStats);
  metrics.OnPollSampled(0, absl::Microseconds(3), absl::Microseconds(40));
  const std::string text = Exposition(metrics);

  EXPECT_THAT(text, HasSubstr("# TYPE corosched_schedule_delay_seconds "
                              "histogram"));
  EXPECT_THAT(text, HasSubstr("# TYPE corosched_poll_duration_seconds "
                              "histogram"));
  EXPECT_EQ(
      Sample(text, "corosched_schedule_delay_seconds_bucket{le=\"1e-06\"}"), 0);
  EXPECT_EQ(
      Sample(text, "corosched_schedule_delay_seconds_bucket{le=\"5e-06\"}"), 1);
  EXPECT_EQ(
      Sample(text, "corosched_schedule_delay_seconds_bucket{le=\"+Inf\"}"), 1);
  EXPECT_EQ(Sample(text, "corosched_schedule_delay_seconds_count"), 1);
  EXPECT_EQ(
      Sample(text, "corosched_poll_duration_seconds_bucket{le=\"2.5e-05\"}"),
      0);
  EXPECT_EQ(
      Sample(text, "corosched_poll_duration_seconds_bucket{le=\"5e-05\"}"), 1);
  EXPECT_DOUBLE_EQ(Sample(text, "corosched_poll_duration_seconds_sum"), 40e-6);

  EXPECT_EQ(Sample(text, "corosched_run_queue_depth"), 3 + 4 + 5);
  EXPECT_EQ(Sample(text, "corosched_worker_queue_depth{worker=\"0\"}"), 4);
  EXPECT_EQ(Sample(text, "corosched_worker_queue_depth{worker=\"1\"}"), 5);
  EXPECT_EQ(Sample(text, "corosched_injection_queue_depth"), 3);
  EXPECT_EQ(Sample(text, "corosched_admission_capacity"), 1024);
  EXPECT_EQ(Sample(text, "corosched_admission_in_use"), 7);
  EXPECT_THAT(text, HasSubstr("# TYPE corosched_polls_total counter"));
  EXPECT_EQ(Sample(text, "corosched_polls_total"), 100);
  EXPECT_EQ(Sample(text, "corosched_steals_total"), 6);
  EXPECT_EQ(Sample(text, "corosched_worker_parks_total"), 9);
}

TEST(ExecutorMetricsTest, WithoutAStatsSourceOnlyTheHistogramsAreExposed) {
  ExecutorMetrics metrics(1);
  metrics.SetStatsSource(FakeStats);
  metrics.SetStatsSource(nullptr);
  const std::string text = Exposition(metrics);
  EXPECT_THAT(text, HasSubstr("corosched_schedule_delay_seconds_count 0"));
  EXPECT_THAT(text, Not(HasSubstr("corosched_run_queue_depth")));
  EXPECT_THAT(text, Not(HasSubstr("corosched_polls_total")));
}

TEST(ExecutorMetricsTest, SamplesFromAnUnknownWorkerAreDropped) {
  ExecutorMetrics metrics(2);
  metrics.OnPollSampled(2, absl::Microseconds(1), absl::Microseconds(1));
  metrics.OnPollSampled(-1, absl::Microseconds(1), absl::Microseconds(1));
  metrics.OnPollSampled(1, absl::Microseconds(1), absl::Microseconds(1));
  EXPECT_EQ(
      Sample(Exposition(metrics), "corosched_poll_duration_seconds_count"), 1);
}

TEST(ExecutorMetricsTest, ZeroWorkersMeansOneShardPerHardwareThread) {
  EXPECT_GE(ExecutorMetrics(0).workers(), 1);
  EXPECT_EQ(ExecutorMetrics(3).workers(), 3);
}

// On a real executor: every poll is counted exactly by Stats(), and one
// Schedule in kSampleEvery per thread is sampled into the histograms.
TEST(ExecutorMetricsTest, RecordsARealExecutorsPollsAndSamples) {
  constexpr int kWorkers = 2;
  constexpr int kTasks = 200;
  constexpr int kYields = 31;  // 32 polls per task
  ExecutorMetrics metrics(kWorkers);
  auto executor =
      Executor::Create(
          {.workers = kWorkers, .max_tasks = 5000, .observer = &metrics})
          .value();
  metrics.SetStatsSource([&executor] { return executor->Stats(); });
  std::atomic<int> live{0};
  std::vector<JoinHandle<int>> handles;
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    handles.push_back(
        executor->Spawn(testing::YieldTimes(kYields, &live)).value());
  }
  for (auto& handle : handles) ASSERT_EQ(std::move(handle).Wait().value(), 7);
  executor->Shutdown(ShutdownMode::kDrain);

  const std::string text = Exposition(metrics);
  constexpr double kPolls = double(kTasks) * (kYields + 1);
  EXPECT_EQ(Sample(text, "corosched_polls_total"), kPolls);
  EXPECT_EQ(Sample(text, "corosched_admission_capacity"), 5000);
  EXPECT_EQ(Sample(text, "corosched_admission_in_use"), 0);
  EXPECT_EQ(Sample(text, "corosched_run_queue_depth"), 0);
  EXPECT_EQ(Sample(text, "corosched_worker_queue_depth{worker=\"1\"}"), 0);
  // Each poll follows exactly one Schedule; each of the (at most three)
  // scheduling threads samples one in kSampleEvery, counting from where its
  // own tick stood.
  const double samples = Sample(text, "corosched_schedule_delay_seconds_count");
  const double expected = kPolls / ExecutorObserver::kSampleEvery;
  EXPECT_GE(samples, expected - 3);
  EXPECT_LE(samples, expected + 3);
  EXPECT_EQ(Sample(text, "corosched_poll_duration_seconds_count"), samples);
  metrics.SetStatsSource(nullptr);  // before the executor goes away
}

}  // namespace
}  // namespace corosched
