#include "server/metrics/work_metrics.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/metrics/latency_buckets.h"
#include "core/metrics/metric_families.h"

namespace corosched::server {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

// The `error` label of a completion.
constexpr char kNoError[] = "none";

// Error names the queues give their own ends (WorkAttemptEnd::error):
// always labelled, not counted against kMaxWorkerErrorLabels.
constexpr const char* kOwnErrors[] = {kNoError, "heartbeat_timeout", "timeout",
                                      "schedule_timeout", "cancelled"};

// What a queue's gauges show: a Stats() entry, or several summed.
struct QueueLoad {
  double depth = 0;
  double oldest_age_seconds = 0;
  double pollers = 0;
  double leased = 0;
};

}  // namespace

const std::vector<double>& WorkMetrics::DurationBoundsSeconds() {
  static const std::vector<double>* const bounds = [] {
    auto* result = new std::vector<double>(LatencyBucketBoundsSeconds());
    for (double longer : {30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0}) {
      result->push_back(longer);
    }
    return result;
  }();
  return *bounds;
}

void WorkMetrics::Histogram::Observe(absl::Duration value) {
  const double seconds = std::max(0.0, absl::ToDoubleSeconds(value));
  const std::vector<double>& bounds = DurationBoundsSeconds();
  // Prometheus buckets are "less or equal": the first bound >= seconds.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  if (buckets.empty()) buckets.resize(bounds.size() + 1);
  ++buckets[bucket];
  sum += seconds;
}

prometheus::ClientMetric::Histogram WorkMetrics::Histogram::Snapshot() const {
  const std::vector<double>& bounds = DurationBoundsSeconds();
  prometheus::ClientMetric::Histogram histogram;
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += buckets.empty() ? 0 : buckets[i];
    histogram.bucket.push_back(
        {cumulative, i < bounds.size()
                         ? bounds[i]
                         : std::numeric_limits<double>::infinity()});
  }
  histogram.sample_count = cumulative;
  histogram.sample_sum = sum;
  return histogram;
}

WorkMetrics::WorkMetrics() {
  absl::MutexLock lock(&mu_);
  for (const char* error : kOwnErrors) {
    error_index_[error] = error_labels_.size();
    error_labels_.emplace_back(error);
  }
}

void WorkMetrics::SetStatsSource(StatsSource source) {
  absl::MutexLock lock(&source_mu_);
  source_ = std::move(source);
}

size_t WorkMetrics::QueueIndex(absl::string_view queue) const {
  auto it = queue_index_.find(queue);
  if (it != queue_index_.end()) return it->second;
  // Labelled queues, plus "_other" once it exists.
  const bool full = queue_labels_.size() >= kMaxQueueLabels;
  const std::string label = full ? kOtherLabel : std::string(queue);
  if (full) {
    auto other = queue_index_.find(label);
    if (other != queue_index_.end()) return other->second;
  }
  const size_t index = queue_labels_.size();
  queue_labels_.push_back(label);
  series_.push_back(std::make_unique<QueueSeries>());
  // An overflowing name is not remembered: it is looked up as "_other".
  queue_index_[label] = index;
  return index;
}

WorkMetrics::QueueSeries& WorkMetrics::SeriesFor(absl::string_view queue) {
  return *series_[QueueIndex(queue)];
}

size_t WorkMetrics::ErrorIndex(absl::string_view error) {
  if (error.empty()) error = kNoError;
  auto it = error_index_.find(error);
  if (it != error_index_.end()) return it->second;
  const bool full = worker_errors_ >= kMaxWorkerErrorLabels;
  const std::string label = full ? kOtherLabel : std::string(error);
  if (full) {
    auto other = error_index_.find(label);
    if (other != error_index_.end()) return other->second;
  } else {
    ++worker_errors_;
  }
  const size_t index = error_labels_.size();
  error_labels_.push_back(label);
  error_index_[label] = index;
  return index;
}

void WorkMetrics::OnItemQueued(absl::string_view queue) {
  absl::MutexLock lock(&mu_);
  ++SeriesFor(queue).queued;
}

void WorkMetrics::OnItemLeased(absl::string_view queue,
                               absl::Duration schedule_to_start) {
  absl::MutexLock lock(&mu_);
  SeriesFor(queue).schedule_to_start.Observe(schedule_to_start);
}

void WorkMetrics::OnAttemptEnded(const WorkAttemptEnd& end) {
  absl::MutexLock lock(&mu_);
  const size_t queue = QueueIndex(end.queue);
  if (end.had_lease) series_[queue]->run_duration.Observe(end.run_duration);
  ++attempts_[{queue, end.outcome, ErrorIndex(end.error)}];
}

void WorkMetrics::OnLeaseExpired(absl::string_view queue,
                                 LeaseExpiryKind kind) {
  absl::MutexLock lock(&mu_);
  ++SeriesFor(queue).expiries[kind == LeaseExpiryKind::kHeartbeat ? 0 : 1];
}

void WorkMetrics::AddQueueGauges(const std::vector<WorkQueueStats>& stats,
                                 std::vector<MetricFamily>& families) const {
  for (const WorkQueueStats& queue : stats) QueueIndex(queue.queue);
  std::vector<QueueLoad> loads(queue_labels_.size());
  for (const WorkQueueStats& queue : stats) {
    QueueLoad& load = loads[QueueIndex(queue.queue)];
    load.depth += double(queue.depth);
    load.oldest_age_seconds = std::max(load.oldest_age_seconds,
                                       absl::ToDoubleSeconds(queue.oldest_age));
    load.pollers += double(queue.pollers);
    load.leased += double(queue.leased);
  }
  MetricFamily depth = NewFamily("corosched_work_queue_depth",
                                 "Work items waiting for a worker, by queue.",
                                 MetricType::Gauge);
  MetricFamily oldest = NewFamily(
      "corosched_work_oldest_item_age_seconds",
      "How long the oldest item waiting on the queue has waited (0: none).",
      MetricType::Gauge);
  MetricFamily pollers =
      NewFamily("corosched_work_pollers",
                "Workers waiting for items of the queue: parked polls and "
                "streams with credit.",
                MetricType::Gauge);
  MetricFamily leased = NewFamily(
      "corosched_work_leased", "Work items of the queue leased to workers now.",
      MetricType::Gauge);
  for (size_t i = 0; i < loads.size(); ++i) {
    const std::vector<prometheus::ClientMetric::Label> labels = {
        {"queue", queue_labels_[i]}};
    AddSample(depth, loads[i].depth, labels);
    AddSample(oldest, loads[i].oldest_age_seconds, labels);
    AddSample(pollers, loads[i].pollers, labels);
    AddSample(leased, loads[i].leased, labels);
  }
  for (MetricFamily* family : {&depth, &oldest, &pollers, &leased}) {
    families.push_back(std::move(*family));
  }
}

std::vector<MetricFamily> WorkMetrics::Collect() const {
  std::vector<WorkQueueStats> stats;
  {
    absl::MutexLock lock(&source_mu_);
    if (source_) stats = source_();
  }
  std::vector<MetricFamily> families;
  absl::MutexLock lock(&mu_);
  AddQueueGauges(stats, families);

  MetricFamily queued =
      NewFamily("corosched_work_items_queued_total",
                "Work attempts put on the queue.", MetricType::Counter);
  MetricFamily schedule_to_start = NewFamily(
      "corosched_work_schedule_to_start_seconds",
      "Time from a work attempt being queued to its lease to a worker.",
      MetricType::Histogram);
  MetricFamily run_duration = NewFamily(
      "corosched_work_run_duration_seconds",
      "Time from a lease's start to its attempt's end (answered or expired).",
      MetricType::Histogram);
  MetricFamily expiries = NewFamily(
      "corosched_work_lease_expiries_total",
      "Leases that ended because a deadline passed: kind heartbeat (no "
      "heartbeat in time) or timeout (no answer in time).",
      MetricType::Counter);
  for (size_t i = 0; i < series_.size(); ++i) {
    const QueueSeries& series = *series_[i];
    const std::string& queue = queue_labels_[i];
    AddSample(queued, double(series.queued), {{"queue", queue}});
    prometheus::ClientMetric& waited = schedule_to_start.metric.emplace_back();
    waited.label = {{"queue", queue}};
    waited.histogram = series.schedule_to_start.Snapshot();
    prometheus::ClientMetric& ran = run_duration.metric.emplace_back();
    ran.label = {{"queue", queue}};
    ran.histogram = series.run_duration.Snapshot();
    AddSample(expiries, double(series.expiries[0]),
              {{"queue", queue}, {"kind", "heartbeat"}});
    AddSample(expiries, double(series.expiries[1]),
              {{"queue", queue}, {"kind", "timeout"}});
  }
  MetricFamily attempts =
      NewFamily("corosched_work_attempts_total",
                "Work attempts that ended, by queue, outcome and error name.",
                MetricType::Counter);
  for (const auto& [key, count] : attempts_) {
    const auto& [queue, outcome, error] = key;
    AddSample(attempts, double(count),
              {{"queue", queue_labels_[queue]},
               {"outcome", WorkOutcomeLabel(outcome)},
               {"error", error_labels_[error]}});
  }
  for (MetricFamily* family :
       {&queued, &schedule_to_start, &run_duration, &attempts, &expiries}) {
    families.push_back(std::move(*family));
  }
  return families;
}

}  // namespace corosched::server
