// Stress tests for ExecutorMetrics under ThreadSanitizer (`make test` runs
// them in the TSan build): workers record into their shards while another
// thread scrapes. Each counts exactly, so a lost or torn update fails it.

#include <atomic>
#include <thread>
#include <vector>

#include "core/executor.h"
#include "core/metrics/executor_metrics.h"
#include "core/testing/test_futures.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace corosched {
namespace {

const prometheus::ClientMetric::Histogram& FindHistogram(
    const std::vector<prometheus::MetricFamily>& families, const char* name) {
  for (const auto& family : families) {
    if (family.name == name) return family.metric.at(0).histogram;
  }
  ADD_FAILURE() << name << " is not exposed";
  static const prometheus::ClientMetric::Histogram kNone;
  return kNone;
}

// Scrapes until `done`, checking what must hold for any snapshot: buckets
// are cumulative, +Inf equals the count, and nothing ever goes down.
// Returns the number of violations.
int ScrapeUntil(const ExecutorMetrics& metrics, const std::atomic<bool>& done) {
  int violations = 0;
  uint64_t last_count = 0;
  std::vector<uint64_t> last_buckets(ShardedHistogram::kBuckets, 0);
  while (!done.load(std::memory_order_acquire)) {
    const std::vector<prometheus::MetricFamily> families = metrics.Collect();
    const auto& h = FindHistogram(families, "corosched_schedule_delay_seconds");
    if (h.bucket.size() != ShardedHistogram::kBuckets) return violations + 1;
    if (h.bucket.back().cumulative_count != h.sample_count) ++violations;
    if (h.sample_count < last_count) ++violations;
    for (size_t b = 0; b < h.bucket.size(); ++b) {
      if (b > 0 &&
          h.bucket[b].cumulative_count < h.bucket[b - 1].cumulative_count) {
        ++violations;
      }
      if (h.bucket[b].cumulative_count < last_buckets[b]) ++violations;
      last_buckets[b] = h.bucket[b].cumulative_count;
    }
    last_count = h.sample_count;
    // The text serializer runs on the snapshot too, as a real scrape does.
    if (prometheus::TextSerializer().Serialize(families).empty()) ++violations;
  }
  return violations;
}

TEST(ExecutorMetricsStressTest, ConcurrentRecordingWhileScrapingIsExact) {
  constexpr int kWorkers = 4;
  constexpr int kSamplesPerWorker = 200'000;
  ExecutorMetrics metrics(kWorkers);
  std::atomic<bool> done{false};
  int violations = 0;
  std::thread scraper([&] { violations = ScrapeUntil(metrics, done); });

  // All workers start together, so their recording overlaps.
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  workers.reserve(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&metrics, &ready, w] {
      ready.fetch_add(1);
      while (ready.load() < kWorkers) std::this_thread::yield();
      for (int i = 0; i < kSamplesPerWorker; ++i) {
        // Four buckets (1ns, 256ns, 65us, 16ms), each written often.
        const int64_t ns = int64_t{1} << (i % 4 * 8);
        metrics.OnPollSampled(w, absl::Nanoseconds(ns), absl::Nanoseconds(w));
      }
    });
  }
  for (auto& worker : workers) worker.join();
  done.store(true, std::memory_order_release);
  scraper.join();
  EXPECT_EQ(violations, 0);

  const std::vector<prometheus::MetricFamily> families = metrics.Collect();
  const auto& delay =
      FindHistogram(families, "corosched_schedule_delay_seconds");
  const auto& poll = FindHistogram(families, "corosched_poll_duration_seconds");
  EXPECT_EQ(delay.sample_count, uint64_t{kWorkers} * kSamplesPerWorker);
  EXPECT_EQ(poll.sample_count, uint64_t{kWorkers} * kSamplesPerWorker);
  // Poll durations were w ns for worker w: 0 + 1 + 2 + 3 per round.
  EXPECT_DOUBLE_EQ(poll.sample_sum, 6.0 * kSamplesPerWorker / 1e9);
}

// The same on a real executor: its workers call OnPollSampled while a
// scraper reads both the shards and Executor::Stats().
TEST(ExecutorMetricsStressTest, ScrapingARunningExecutorIsRaceFree) {
  constexpr int kTasks = 400;
  constexpr int kYields = 200;
  ExecutorMetrics metrics(2);
  auto executor =
      Executor::Create({.workers = 2, .observer = &metrics}).value();
  metrics.SetStatsSource([&executor] { return executor->Stats(); });
  std::atomic<bool> done{false};
  int violations = 0;
  std::thread scraper([&] { violations = ScrapeUntil(metrics, done); });

  std::atomic<int> live{0};
  std::vector<JoinHandle<int>> handles;
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    handles.push_back(
        executor->Spawn(testing::YieldTimes(kYields, &live)).value());
  }
  for (auto& handle : handles) EXPECT_EQ(std::move(handle).Wait().value(), 7);
  done.store(true, std::memory_order_release);
  scraper.join();
  metrics.SetStatsSource(nullptr);
  executor->Shutdown(ShutdownMode::kDrain);
  EXPECT_EQ(violations, 0);
  EXPECT_EQ(executor->Stats().polls, uint64_t{kTasks} * (kYields + 1));
  const std::vector<prometheus::MetricFamily> families = metrics.Collect();
  const auto& delay =
      FindHistogram(families, "corosched_schedule_delay_seconds");
  EXPECT_GE(
      delay.sample_count,
      uint64_t{kTasks} * (kYields + 1) / ExecutorObserver::kSampleEvery - 3);
}

}  // namespace
}  // namespace corosched
