#include "core/metrics/executor_metrics.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/metrics/metric_families.h"

namespace corosched {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

int ResolveWorkers(int workers) {
  if (workers > 0) return workers;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void AppendStats(const ExecutorStats& stats,
                 std::vector<MetricFamily>& families) {
  size_t queued = stats.injection_queue_depth;
  MetricFamily per_worker = NewFamily(
      "corosched_worker_queue_depth",
      "Tasks queued on one worker's local run queue.", MetricType::Gauge);
  for (size_t i = 0; i < stats.worker_queue_depths.size(); ++i) {
    queued += stats.worker_queue_depths[i];
    AddSample(per_worker, double(stats.worker_queue_depths[i]),
              {{"worker", std::to_string(i)}});
  }
  families.push_back(GaugeFamily(
      "corosched_run_queue_depth",
      "Tasks queued to run: the injection queue plus every worker's queue.",
      double(queued)));
  families.push_back(std::move(per_worker));
  families.push_back(GaugeFamily("corosched_injection_queue_depth",
                                 "Tasks on the shared injection queue.",
                                 double(stats.injection_queue_depth)));
  families.push_back(GaugeFamily("corosched_admission_capacity",
                                 "The admission bound: live tasks at most.",
                                 double(stats.max_tasks)));
  families.push_back(GaugeFamily("corosched_admission_in_use",
                                 "Live tasks: admitted and not yet finished.",
                                 double(stats.live_tasks)));
  families.push_back(CounterFamily("corosched_polls_total",
                                   "Task polls run by the workers.",
                                   double(stats.polls)));
  families.push_back(CounterFamily("corosched_steals_total",
                                   "Tasks a worker stole from another's queue.",
                                   double(stats.steals)));
  families.push_back(CounterFamily("corosched_worker_parks_total",
                                   "Times a worker found no work and slept.",
                                   double(stats.parks)));
}

}  // namespace

ExecutorMetrics::ExecutorMetrics(int workers)
    : schedule_delay_(ResolveWorkers(workers)),
      poll_duration_(ResolveWorkers(workers)) {}

void ExecutorMetrics::SetStatsSource(StatsSource source) {
  absl::MutexLock lock(&mu_);
  stats_source_ = std::move(source);
}

void ExecutorMetrics::OnPollSampled(int worker, absl::Duration schedule_delay,
                                    absl::Duration poll_duration) {
  if (worker < 0 || worker >= workers()) return;
  schedule_delay_.Record(worker, absl::ToInt64Nanoseconds(schedule_delay));
  poll_duration_.Record(worker, absl::ToInt64Nanoseconds(poll_duration));
}

std::vector<MetricFamily> ExecutorMetrics::Collect() const {
  std::vector<MetricFamily> families;
  families.push_back(HistogramFamily(
      "corosched_schedule_delay_seconds",
      absl::StrCat("Time from a task's wake (or spawn) to the start of its "
                   "poll; one wake in ",
                   ExecutorObserver::kSampleEvery, " per thread is sampled."),
      schedule_delay_.Snapshot()));
  families.push_back(HistogramFamily("corosched_poll_duration_seconds",
                                     "How long one poll of a task ran; "
                                     "sampled with the schedule delay.",
                                     poll_duration_.Snapshot()));
  absl::MutexLock lock(&mu_);
  if (stats_source_) AppendStats(stats_source_(), families);
  return families;
}

}  // namespace corosched
