#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/executor.h"
#include "core/machine/machine_observer.h"
#include "core/metrics/sharded_counter.h"
#include "core/metrics/sharded_histogram.h"
#include "corosched/v1/task_state.pb.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace corosched::server {

// The daemon's task metrics: what happened to tasks (submitted, finished by
// outcome, how long they took), their wakes by source, the signals waiting
// in mailboxes, tasks by state, and build info. A prometheus::Collectable
// that the metrics endpoint scrapes; the executor's own metrics
// (queues, admission, schedule delay) are ExecutorMetrics'.
//
//   auto metrics = std::make_shared<ServerMetrics>();
//   metrics->OnTaskSubmitted();                       // TaskRunner
//   auto task = MachineTask::Create(..., metrics.get());  // signals
//   metrics->SetSources({.executor_stats = [&] { return executor.Stats(); },
//                        .task_counts = [&] { return store.Count...(); }});
//   exposer.RegisterCollectable(metrics);
//   metrics->SetSources({});  // before the executor or the store go away
//
// Exported (prefix corosched_, base units, never a task id):
//   corosched_build_info{version}           gauge, always 1
//   corosched_tasks{state}                  gauge, tasks the store holds by
//                                           state (ready ... cancelled),
//                                           every state present, from
//                                           task_counts at scrape time
//   corosched_tasks_submitted_total         counter, tasks created
//   corosched_tasks_finished_total{outcome} counter, completed / failed /
//                                           cancelled, each present from 0
//   corosched_wakes_total{source}           counter: self (a task woke
//                                           itself: a yield) and signal
//                                           (MachineTask::Wake accepted
//                                           one), from the MachineTasks;
//                                           timer (one fired), from the
//                                           executor's stats
//   corosched_buffered_wakes                gauge, signals accepted and not
//                                           yet taken by an await
//   corosched_task_duration_seconds         histogram, submitted to
//                                           finished
// corosched_tasks is left out while task_counts is unset or fails; the
// timer wakes while executor_stats is unset.
//
// Hot paths: the hooks run on executor workers and gRPC threads, once per
// yield, task or signal. Each adds to the calling thread's own shard with a
// plain load and store (ShardedCounter, ShardedHistogram::
// RecordFromAnyThread); a scrape sums the shards.
//
// Thread-safety: every method from any thread. The object must outlive the
// MachineTasks it observes.
class ServerMetrics final : public prometheus::Collectable,
                            public machine::MachineObserver {
 public:
  using TaskCounts = std::map<v1::TaskStatus, uint64_t>;
  struct Sources {
    std::function<ExecutorStats()> executor_stats;
    std::function<absl::StatusOr<TaskCounts>()> task_counts;
  };

  ServerMetrics() : task_duration_(kShardsWithOverflow) {}

  // Replaces what Collect reads; empty functions are not called. Waits for
  // a Collect in progress, so after SetSources({}) returns the old sources
  // are never called again.
  void SetSources(Sources sources) ABSL_LOCKS_EXCLUDED(mu_);

  // A submit created a task (not a repeat of an earlier submit).
  void OnTaskSubmitted() { submitted_.Add(1); }
  // A task ended with `outcome` (COMPLETED, FAILED or CANCELLED; anything
  // else is dropped) `since_submitted` after it was submitted.
  void OnTaskFinished(v1::TaskStatus outcome, absl::Duration since_submitted);

  // machine::MachineObserver.
  void OnSelfWake() override { self_wakes_.Add(1); }
  void OnSignalAccepted() override { signals_.Add(1); }
  void OnHeldSignalsChanged(int64_t delta) override { held_.Add(delta); }

  // prometheus::Collectable.
  std::vector<prometheus::MetricFamily> Collect() const override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ShardedCounter submitted_;
  // Indexed by kOutcomes' order: completed, failed, cancelled.
  std::array<ShardedCounter, 3> finished_;
  ShardedCounter self_wakes_;
  ShardedCounter signals_;
  ShardedCounter held_;
  ShardedHistogram task_duration_;

  mutable absl::Mutex mu_;
  Sources sources_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
