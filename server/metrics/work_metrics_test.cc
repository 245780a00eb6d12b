#include "server/metrics/work_metrics.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/time/clock.h"
#include "gtest/gtest.h"
#include "server/metrics/test_families.h"
#include "server/work/work_queues.h"

namespace corosched::server {
namespace {

using testing::FindFamily;
using testing::FindSeries;
using testing::Labels;

constexpr char kDepth[] = "corosched_work_queue_depth";
constexpr char kOldest[] = "corosched_work_oldest_item_age_seconds";
constexpr char kPollers[] = "corosched_work_pollers";
constexpr char kLeased[] = "corosched_work_leased";
constexpr char kQueued[] = "corosched_work_items_queued_total";
constexpr char kScheduleToStart[] = "corosched_work_schedule_to_start_seconds";
constexpr char kRun[] = "corosched_work_run_duration_seconds";
constexpr char kAttempts[] = "corosched_work_attempts_total";
constexpr char kExpiries[] = "corosched_work_lease_expiries_total";

// The value of a gauge or counter series; -1 when it is missing.
double Value(const std::vector<prometheus::MetricFamily>& families,
             const char* name, const Labels& labels) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  const prometheus::ClientMetric* series = FindSeries(family, labels);
  if (series == nullptr) return -1;
  return family->type == prometheus::MetricType::Counter ? series->counter.value
                                                         : series->gauge.value;
}

// The label values `label` takes in family `name`.
std::set<std::string> LabelValues(
    const std::vector<prometheus::MetricFamily>& families, const char* name,
    const std::string& label) {
  std::set<std::string> values;
  const prometheus::MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return values;
  for (const prometheus::ClientMetric& metric : family->metric) {
    for (const prometheus::ClientMetric::Label& l : metric.label) {
      if (l.name == label) values.insert(l.value);
    }
  }
  return values;
}

WorkAttemptEnd Ended(std::string queue, WorkOutcomeKind outcome,
                     std::string error, absl::Duration ran) {
  WorkAttemptEnd end;
  end.queue = std::move(queue);
  end.outcome = outcome;
  end.error = std::move(error);
  end.had_lease = true;
  end.run_duration = ran;
  return end;
}

TEST(WorkMetricsTest, EveryFamilyIsExportedAndEmptyBeforeAnyQueue) {
  WorkMetrics metrics;
  const auto families = metrics.Collect();
  for (const char* name : {kDepth, kOldest, kPollers, kLeased, kQueued,
                           kScheduleToStart, kRun, kAttempts, kExpiries}) {
    const prometheus::MetricFamily* family = FindFamily(families, name);
    ASSERT_NE(family, nullptr) << name;
    EXPECT_TRUE(family->metric.empty()) << name;
  }
}

TEST(WorkMetricsTest, CountsEachQueuesEventsUnderItsOwnLabel) {
  WorkMetrics metrics;
  metrics.OnItemQueued("jobs");
  metrics.OnItemQueued("jobs");
  metrics.OnItemQueued("mail");
  metrics.OnItemLeased("jobs", absl::Milliseconds(2));
  metrics.OnItemLeased("jobs", absl::Seconds(40));
  metrics.OnAttemptEnded(
      Ended("jobs", WorkOutcomeKind::kCompleted, "", absl::Seconds(90)));
  metrics.OnAttemptEnded(Ended("jobs", WorkOutcomeKind::kFailed, "smtp_down",
                               absl::Milliseconds(5)));
  metrics.OnLeaseExpired("jobs", LeaseExpiryKind::kHeartbeat);
  metrics.OnAttemptEnded(Ended("jobs", WorkOutcomeKind::kHeartbeatTimeout,
                               "heartbeat_timeout", absl::Seconds(10)));
  WorkAttemptEnd cancelled;
  cancelled.queue = "mail";
  cancelled.outcome = WorkOutcomeKind::kCancelled;
  cancelled.error = "cancelled";
  metrics.OnAttemptEnded(cancelled);  // never leased: no run duration

  const auto families = metrics.Collect();
  EXPECT_EQ(Value(families, kQueued, {{"queue", "jobs"}}), 2);
  EXPECT_EQ(Value(families, kQueued, {{"queue", "mail"}}), 1);
  EXPECT_EQ(
      Value(families, kAttempts,
            {{"queue", "jobs"}, {"outcome", "completed"}, {"error", "none"}}),
      1);
  EXPECT_EQ(
      Value(families, kAttempts,
            {{"queue", "jobs"}, {"outcome", "failed"}, {"error", "smtp_down"}}),
      1);
  EXPECT_EQ(Value(families, kAttempts,
                  {{"queue", "jobs"},
                   {"outcome", "heartbeat_timeout"},
                   {"error", "heartbeat_timeout"}}),
            1);
  EXPECT_EQ(Value(families, kAttempts,
                  {{"queue", "mail"},
                   {"outcome", "cancelled"},
                   {"error", "cancelled"}}),
            1);
  EXPECT_EQ(
      Value(families, kExpiries, {{"queue", "jobs"}, {"kind", "heartbeat"}}),
      1);
  EXPECT_EQ(
      Value(families, kExpiries, {{"queue", "jobs"}, {"kind", "timeout"}}), 0);

  const auto* waited =
      FindSeries(FindFamily(families, kScheduleToStart), {{"queue", "jobs"}});
  ASSERT_NE(waited, nullptr);
  EXPECT_EQ(waited->histogram.sample_count, 2u);
  EXPECT_NEAR(waited->histogram.sample_sum, 40.002, 1e-9);
  const auto* ran = FindSeries(FindFamily(families, kRun), {{"queue", "jobs"}});
  ASSERT_NE(ran, nullptr);
  EXPECT_EQ(ran->histogram.sample_count, 3u);
  const auto* mail_ran =
      FindSeries(FindFamily(families, kRun), {{"queue", "mail"}});
  ASSERT_NE(mail_ran, nullptr);
  EXPECT_EQ(mail_ran->histogram.sample_count, 0u);
}

TEST(WorkMetricsTest, DurationBucketsGoOnPastTenSecondsToAnHour) {
  WorkMetrics metrics;
  metrics.OnItemLeased("jobs", absl::Microseconds(800));
  metrics.OnItemLeased("jobs", absl::Seconds(90));
  metrics.OnItemLeased("jobs", absl::Hours(2));
  const auto families = metrics.Collect();
  const auto& buckets =
      FindSeries(FindFamily(families, kScheduleToStart), {{"queue", "jobs"}})
          ->histogram.bucket;
  // The shared 22 latency bounds, 7 longer ones, +Inf.
  ASSERT_EQ(buckets.size(), 30u);
  EXPECT_EQ(buckets[0].upper_bound, 1e-6);
  EXPECT_EQ(buckets[9].upper_bound, 1e-3);
  EXPECT_EQ(buckets[9].cumulative_count, 1u);
  EXPECT_EQ(buckets[21].upper_bound, 10.0);
  EXPECT_EQ(buckets[21].cumulative_count, 1u);
  EXPECT_EQ(buckets[24].upper_bound, 120.0);
  EXPECT_EQ(buckets[24].cumulative_count, 2u);
  EXPECT_EQ(buckets[28].upper_bound, 3600.0);
  EXPECT_EQ(buckets[28].cumulative_count, 2u);
  EXPECT_EQ(buckets[29].cumulative_count, 3u) << "+Inf holds the two hours";
}

TEST(WorkMetricsTest, GaugesAreReadFromTheStatsSourceAtEachScrape) {
  WorkMetrics metrics;
  std::vector<WorkQueueStats> stats = {
      {.queue = "jobs",
       .depth = 4,
       .oldest_age = absl::Seconds(75),
       .pollers = 0,
       .leased = 2},
      {.queue = "mail", .depth = 0, .pollers = 3},
  };
  int calls = 0;
  metrics.SetStatsSource([&] {
    ++calls;
    return stats;
  });
  auto families = metrics.Collect();
  EXPECT_EQ(Value(families, kDepth, {{"queue", "jobs"}}), 4);
  EXPECT_EQ(Value(families, kOldest, {{"queue", "jobs"}}), 75);
  EXPECT_EQ(Value(families, kLeased, {{"queue", "jobs"}}), 2);
  EXPECT_EQ(Value(families, kPollers, {{"queue", "jobs"}}), 0);
  EXPECT_EQ(Value(families, kPollers, {{"queue", "mail"}}), 3);

  // The queue emptied: it leaves Stats(), and its gauges read 0.
  stats = {{.queue = "mail", .pollers = 1}};
  families = metrics.Collect();
  EXPECT_EQ(Value(families, kDepth, {{"queue", "jobs"}}), 0);
  EXPECT_EQ(Value(families, kOldest, {{"queue", "jobs"}}), 0);
  EXPECT_EQ(Value(families, kPollers, {{"queue", "mail"}}), 1);
  EXPECT_EQ(calls, 2);

  metrics.SetStatsSource(nullptr);
  families = metrics.Collect();
  EXPECT_EQ(calls, 2) << "a detached source is not called";
  EXPECT_EQ(Value(families, kPollers, {{"queue", "mail"}}), 0);
}

TEST(WorkMetricsTest, QueueLabelsAreBoundedThenShareOther) {
  WorkMetrics metrics;
  std::vector<WorkQueueStats> stats;
  for (size_t i = 0; i < WorkMetrics::kMaxQueueLabels + 6; ++i) {
    const std::string queue = absl::StrCat("q", i);
    metrics.OnItemQueued(queue);
    stats.push_back({.queue = queue,
                     .depth = 1,
                     .oldest_age = absl::Seconds(double(i)),
                     .pollers = 1});
  }
  metrics.OnAttemptEnded(
      Ended("q69", WorkOutcomeKind::kCompleted, "", absl::Seconds(1)));
  metrics.SetStatsSource([&] { return stats; });
  const auto families = metrics.Collect();

  std::set<std::string> labels = LabelValues(families, kQueued, "queue");
  EXPECT_EQ(labels.size(), WorkMetrics::kMaxQueueLabels + 1);
  EXPECT_TRUE(labels.contains("q63"));
  EXPECT_FALSE(labels.contains("q64"));
  EXPECT_EQ(LabelValues(families, kDepth, "queue"), labels);
  EXPECT_EQ(Value(families, kQueued, {{"queue", "_other"}}), 6);
  // q64 .. q69 summed, their oldest age the largest.
  EXPECT_EQ(Value(families, kDepth, {{"queue", "_other"}}), 6);
  EXPECT_EQ(Value(families, kPollers, {{"queue", "_other"}}), 6);
  EXPECT_EQ(Value(families, kOldest, {{"queue", "_other"}}), 69);
  EXPECT_EQ(Value(families, kDepth, {{"queue", "q63"}}), 1);
  EXPECT_EQ(
      Value(families, kAttempts,
            {{"queue", "_other"}, {"outcome", "completed"}, {"error", "none"}}),
      1);
}

TEST(WorkMetricsTest, WorkerErrorLabelsAreBoundedThenShareOther) {
  WorkMetrics metrics;
  for (size_t i = 0; i < WorkMetrics::kMaxWorkerErrorLabels + 10; ++i) {
    metrics.OnAttemptEnded(Ended("jobs", WorkOutcomeKind::kFailed,
                                 absl::StrCat("e", i), absl::Seconds(1)));
  }
  // The queues' own names keep their labels past the bound.
  metrics.OnAttemptEnded(
      Ended("jobs", WorkOutcomeKind::kTimeout, "timeout", absl::Seconds(1)));
  metrics.OnAttemptEnded(
      Ended("jobs", WorkOutcomeKind::kCompleted, "", absl::Seconds(1)));
  const auto families = metrics.Collect();

  std::set<std::string> errors = LabelValues(families, kAttempts, "error");
  EXPECT_TRUE(errors.contains("e31"));
  EXPECT_FALSE(errors.contains("e32"));
  EXPECT_TRUE(errors.contains("timeout"));
  EXPECT_TRUE(errors.contains("none"));
  EXPECT_EQ(errors.size(), WorkMetrics::kMaxWorkerErrorLabels + 3);
  EXPECT_EQ(
      Value(families, kAttempts,
            {{"queue", "jobs"}, {"outcome", "failed"}, {"error", "_other"}}),
      10);
}

TEST(WorkMetricsTest, ObservesRealQueues) {
  ManualClock clock;
  WorkMetrics metrics;
  WorkQueues queues(
      clock, [](const WorkOutcome&) {}, nullptr, &metrics);
  metrics.SetStatsSource([&queues] { return queues.Stats(); });
  WorkSpec spec;
  spec.task_id = "t1";
  spec.queue = "jobs";
  spec.heartbeat = absl::Seconds(10);
  ASSERT_TRUE(queues.Enqueue(spec).ok());
  spec.task_id = "t2";
  ASSERT_TRUE(queues.Enqueue(spec).ok());
  clock.Advance(absl::Seconds(3));
  std::vector<WorkLease> leased;
  ASSERT_TRUE(queues
                  .Poll({"jobs", "w1", 1, absl::ZeroDuration()},
                        [&leased](std::vector<WorkLease> leases) {
                          leased = std::move(leases);
                        })
                  .ok());
  ASSERT_EQ(leased.size(), 1u);
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(queues.ExpireDue(), 1u);  // t1 sent no heartbeat

  const auto families = metrics.Collect();
  EXPECT_EQ(Value(families, kDepth, {{"queue", "jobs"}}), 1);
  EXPECT_EQ(Value(families, kOldest, {{"queue", "jobs"}}), 13);
  EXPECT_EQ(Value(families, kLeased, {{"queue", "jobs"}}), 0);
  EXPECT_EQ(Value(families, kQueued, {{"queue", "jobs"}}), 2);
  EXPECT_EQ(
      Value(families, kExpiries, {{"queue", "jobs"}, {"kind", "heartbeat"}}),
      1);
  EXPECT_EQ(Value(families, kAttempts,
                  {{"queue", "jobs"},
                   {"outcome", "heartbeat_timeout"},
                   {"error", "heartbeat_timeout"}}),
            1);
  const auto* waited =
      FindSeries(FindFamily(families, kScheduleToStart), {{"queue", "jobs"}});
  ASSERT_NE(waited, nullptr);
  EXPECT_EQ(waited->histogram.sample_sum, 3);
  const auto* ran = FindSeries(FindFamily(families, kRun), {{"queue", "jobs"}});
  ASSERT_NE(ran, nullptr);
  EXPECT_EQ(ran->histogram.sample_sum, 10);
  metrics.SetStatsSource(nullptr);
}

// The sum of a counter family's series.
double Sum(const std::vector<prometheus::MetricFamily>& families,
           const char* name) {
  double sum = 0;
  const prometheus::MetricFamily* family = FindFamily(families, name);
  for (const prometheus::ClientMetric& metric : family->metric) {
    sum += metric.counter.value;
  }
  return sum;
}

// Events from pollers, workers and the sweep at once, while scrapes read the
// queues' stats: every attempt counted once, no lock taken in a bad order.
// Meant for the ThreadSanitizer build too.
TEST(WorkMetricsStressTest, CountsEveryAttemptOnceWhileScraped) {
  constexpr int kTasks = 1000;
  ManualClock clock;
  WorkMetrics metrics;
  std::atomic<int> ended{0};
  std::atomic<int> leases{0};
  WorkQueues queues(
      clock, [&ended](const WorkOutcome&) { ended.fetch_add(1); }, nullptr,
      &metrics);
  metrics.SetStatsSource([&queues] { return queues.Stats(); });
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 0; i < kTasks; ++i) {
      WorkSpec spec;
      spec.task_id = absl::StrCat("t", i);
      spec.queue = i % 2 == 0 ? "even" : "odd";
      spec.heartbeat = absl::Seconds(5);
      EXPECT_TRUE(queues.Enqueue(spec).ok());
    }
  });
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      int n = 0;
      while (!done.load()) {
        std::vector<WorkLease> got;
        (void)queues.Poll(
            {w == 0 ? "even" : "odd", "w", 4, absl::ZeroDuration()},
            [&got](std::vector<WorkLease> l) { got = std::move(l); });
        leases.fetch_add(static_cast<int>(got.size()));
        for (const WorkLease& lease : got) {
          if (++n % 3 == 0) continue;  // dropped: the sweep expires it
          (void)(n % 3 == 1 ? queues.Complete(lease.token, {})
                            : queues.Fail(lease.token, "E", "", true));
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (!done.load()) {
      clock.Advance(absl::Seconds(1));
      queues.ExpireDue();
      if (ended.load() == kTasks) done.store(true);
    }
  });
  threads.emplace_back([&] {
    while (!done.load()) (void)metrics.Collect();
  });
  for (std::thread& thread : threads) thread.join();

  const auto families = metrics.Collect();
  EXPECT_EQ(Sum(families, kAttempts), kTasks);
  EXPECT_EQ(Sum(families, kQueued), kTasks);
  uint64_t leased = 0;
  for (const auto& metric : FindFamily(families, kScheduleToStart)->metric) {
    leased += metric.histogram.sample_count;
  }
  EXPECT_EQ(leased, uint64_t(leases.load()));
  EXPECT_EQ(Value(families, kDepth, {{"queue", "even"}}), 0);
  EXPECT_EQ(Value(families, kLeased, {{"queue", "odd"}}), 0);
  metrics.SetStatsSource(nullptr);
}

}  // namespace
}  // namespace corosched::server
