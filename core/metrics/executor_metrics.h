#pragma once

#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/executor.h"
#include "core/metrics/sharded_histogram.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace corosched {

// The executor's Prometheus metrics: an ExecutorObserver that records the
// sampled schedule delays and poll durations into per-worker histogram
// shards, and a prometheus::Collectable that, when scraped, sums the shards
// and reads Executor::Stats() for the queue, admission and worker counts.
//
//   auto metrics = std::make_shared<ExecutorMetrics>(workers);
//   auto executor = Executor::Create({.workers = workers,
//                                     .observer = metrics.get()}).value();
//   metrics->SetStatsSource([e = executor.get()] { return e->Stats(); });
//   exposer.RegisterCollectable(metrics);  // or registry-free: Collect()
//   ...
//   metrics->SetStatsSource(nullptr);  // before the executor goes away
//
// Exported (all base units, prefix corosched_, never a task id):
//   corosched_schedule_delay_seconds       histogram, woken (or spawned) to
//                                          polled, 1 poll in 64 sampled
//   corosched_poll_duration_seconds        histogram, same sample
//   corosched_run_queue_depth              gauge, tasks queued to run
//                                          (injection + every worker queue)
//   corosched_worker_queue_depth{worker}   gauge, one worker's local queue
//   corosched_injection_queue_depth        gauge, the shared queue
//   corosched_admission_capacity           gauge, the admission bound
//   corosched_admission_in_use             gauge, live (admitted) tasks
//   corosched_polls_total                  counter
//   corosched_steals_total                 counter, tasks stolen
//   corosched_worker_parks_total           counter, times a worker slept
// The gauges and counters are left out while no stats source is set.
//
// Thread-safety: OnPollSampled runs on the executor's workers (each writes
// only its own shard); Collect and SetStatsSource from any thread. The
// object must outlive the executor that reports to it.
class ExecutorMetrics final : public ExecutorObserver,
                              public prometheus::Collectable {
 public:
  using StatsSource = std::function<ExecutorStats()>;

  // `workers`: the executor's worker count, with ExecutorOptions' rule that
  // 0 means one per hardware thread.
  explicit ExecutorMetrics(int workers);

  // Sets what Collect calls for the gauges and counters; nullptr removes
  // it. Waits for a Collect in progress, so after SetStatsSource(nullptr)
  // returns, the old source is never called again.
  void SetStatsSource(StatsSource source) ABSL_LOCKS_EXCLUDED(mu_);

  // ExecutorObserver. A `worker` outside [0, workers) is dropped.
  void OnPollSampled(int worker, absl::Duration schedule_delay,
                     absl::Duration poll_duration) override;

  // prometheus::Collectable.
  std::vector<prometheus::MetricFamily> Collect() const override
      ABSL_LOCKS_EXCLUDED(mu_);

  int workers() const { return schedule_delay_.shards(); }

 private:
  ShardedHistogram schedule_delay_;
  ShardedHistogram poll_duration_;

  mutable absl::Mutex mu_;
  StatsSource stats_source_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched
