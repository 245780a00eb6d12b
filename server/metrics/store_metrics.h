#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "prometheus/collectable.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "server/store/commit_observer.h"

namespace corosched::server {

// The durable store's group commits, as Prometheus metrics: a
// CommitObserver to give SqliteStoreOptions or PostgresStoreOptions, and a
// Collectable.
//
//   auto metrics = std::make_shared<StoreMetrics>();
//   SqliteStore::Open({..., .observer = metrics.get()});
//   exposer.RegisterCollectable(metrics);
//
// Exported (each from 0, even while no durable store reports to it):
//   corosched_store_commit_duration_seconds   histogram, BEGIN to the end of
//                                             COMMIT, fsync included
//   corosched_store_commit_batch_size         histogram, writes per commit
//                                             (buckets 1, 2, 4 ... 512)
//   corosched_store_commit_failures_total     counter, storage failures
//                                             (the writer fails for good at
//                                             the first, so 0 or 1)
//
// Thread-safety: the observer methods run on the store's writer thread,
// Collect on any; each histogram takes its own short lock (one commit at a
// time, so the lock is never contended by writers).
class StoreMetrics final : public CommitObserver,
                           public prometheus::Collectable {
 public:
  StoreMetrics();

  // CommitObserver.
  void OnCommit(const CommitStats& stats) override;
  void OnStorageFailure(const absl::Status& reason) override;

  // prometheus::Collectable.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  prometheus::Histogram commit_duration_;
  prometheus::Histogram batch_size_;
  std::atomic<uint64_t> failures_{0};
};

}  // namespace corosched::server
