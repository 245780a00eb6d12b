#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/client_metric.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "server/work/work_observer.h"
#include "server/work/work_types.h"

namespace corosched::server {

// Work dispatch as Prometheus metrics, per queue: a WorkQueuesObserver to
// give WorkQueues (through TaskRunner), and a Collectable.
//
//   auto metrics = std::make_shared<WorkMetrics>();
//   WorkQueues queues(clock, on_outcome, on_deadline, metrics.get());
//   metrics->SetStatsSource([&queues] { return queues.Stats(); });
//   exposer.RegisterCollectable(metrics);
//   metrics->SetStatsSource(nullptr);  // before the queues go away
//
// Exported (prefix corosched_work_, base units, never a task id):
//   queue_depth{queue}                    gauge, items waiting for a worker
//   oldest_item_age_seconds{queue}        gauge, how long the oldest of them
//                                         has waited
//   pollers{queue}                        gauge, parked polls and streams
//                                         with credit
//   leased{queue}                         gauge, items leased to workers
//   items_queued_total{queue}             counter, attempts queued
//   schedule_to_start_seconds{queue}      histogram, an attempt queued to
//                                         its lease
//   run_duration_seconds{queue}           histogram, a lease's start to its
//                                         attempt's end
//   attempts_total{queue,outcome,error}   counter, attempts ended
//   lease_expiries_total{queue,kind}      counter, leases whose heartbeat or
//                                         timeout deadline passed
// The four gauges are read from the stats source at each scrape; a queue
// that had a label keeps its gauges at 0 while it is empty. `outcome` is
// completed, failed, heartbeat_timeout, timeout, schedule_timeout or
// cancelled; `error` the name a task's retry and catch see (a worker's own
// name for `failed`, the outcome's for the others, "none" for completed);
// `kind` heartbeat or timeout. The histograms' buckets are the shared
// latency buckets (1us to 10s) and then 30s, 1m, 2m, 5m, 10m, 30m and 1h,
// since work runs for minutes.
//
// Cardinality is bounded: the first kMaxQueueLabels queue names seen get
// a `queue` label of their own for the daemon's life, later ones share
// "_other" (its gauges sum depth, pollers and leased, and take the largest
// oldest age); the first kMaxWorkerErrorLabels error names workers report
// get an `error` label, later ones share "_other" (the names the queues
// give themselves always have theirs). Series appear with their first
// event.
//
// Thread-safety: every method from any thread. Events take one short lock
// (each is once per attempt, beside WorkQueues' own lock). Collect calls
// the stats source outside that lock.
class WorkMetrics final : public WorkQueuesObserver,
                          public prometheus::Collectable {
 public:
  static constexpr size_t kMaxQueueLabels = 64;
  static constexpr size_t kMaxWorkerErrorLabels = 32;
  static constexpr char kOtherLabel[] = "_other";

  using StatsSource = std::function<std::vector<WorkQueueStats>()>;

  WorkMetrics();
  WorkMetrics(const WorkMetrics&) = delete;
  WorkMetrics& operator=(const WorkMetrics&) = delete;

  // Replaces what Collect reads the gauges from (null: nothing; the
  // gauges of labelled queues then read 0). Waits for a Collect in
  // progress, so after SetStatsSource(nullptr) returns the old source is
  // never called again.
  void SetStatsSource(StatsSource source) ABSL_LOCKS_EXCLUDED(source_mu_);

  // WorkQueuesObserver.
  void OnItemQueued(absl::string_view queue) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnItemLeased(absl::string_view queue,
                    absl::Duration schedule_to_start) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnAttemptEnded(const WorkAttemptEnd& end) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnLeaseExpired(absl::string_view queue, LeaseExpiryKind kind) override
      ABSL_LOCKS_EXCLUDED(mu_);

  // prometheus::Collectable.
  std::vector<prometheus::MetricFamily> Collect() const override
      ABSL_LOCKS_EXCLUDED(source_mu_, mu_);

  // The histograms' bucket upper bounds, in seconds (then +Inf).
  static const std::vector<double>& DurationBoundsSeconds();

 private:
  // A histogram updated under mu_: counts per bucket (not cumulative).
  struct Histogram {
    std::vector<uint64_t> buckets;  // DurationBoundsSeconds() and +Inf
    double sum = 0;
    void Observe(absl::Duration value);
    prometheus::ClientMetric::Histogram Snapshot() const;
  };
  struct QueueSeries {
    uint64_t queued = 0;
    Histogram schedule_to_start;
    Histogram run_duration;
    std::array<uint64_t, 2> expiries{};  // by LeaseExpiryKind
  };
  // (queue label index, outcome, error label index).
  using AttemptKey = std::tuple<size_t, WorkOutcomeKind, size_t>;

  // The queue's label index (into queue_labels_ and series_), assigned at
  // its first sight; the index of "_other" once kMaxQueueLabels are taken.
  size_t QueueIndex(absl::string_view queue) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  QueueSeries& SeriesFor(absl::string_view queue)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t ErrorIndex(absl::string_view error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddQueueGauges(const std::vector<WorkQueueStats>& stats,
                      std::vector<prometheus::MetricFamily>& families) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex source_mu_;
  StatsSource source_ ABSL_GUARDED_BY(source_mu_);

  // Mutable: a scrape may be first to see a queue and give it a label.
  mutable absl::Mutex mu_;
  mutable std::vector<std::string> queue_labels_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, size_t> queue_index_
      ABSL_GUARDED_BY(mu_);
  mutable std::vector<std::unique_ptr<QueueSeries>> series_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::string> error_labels_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> error_index_ ABSL_GUARDED_BY(mu_);
  size_t worker_errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<AttemptKey, uint64_t> attempts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
