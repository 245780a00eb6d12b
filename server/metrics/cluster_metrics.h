#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace corosched::server {

// Scale-out (several daemons on one PostgreSQL, docs/scale-out.md) as
// Prometheus metrics: LeaseKeeper and InboxDispatcher report to it.
//
// Exported (each from 0, also by a daemon on its own store):
//   corosched_cluster_owned_tasks                  gauge, tasks this daemon
//                                                  runs under its lease (as
//                                                  of its last renewal or
//                                                  claim)
//   corosched_cluster_claims_total                 counter, tasks claimed
//                                                  (resumed here after
//                                                  another daemon ran them,
//                                                  or released them)
//   corosched_cluster_lease_lost_total             counter, times this
//                                                  daemon lost its lease
//                                                  and abandoned its tasks
//   corosched_cluster_lease_renewal_failures_total counter, renewals that
//                                                  did not reach the
//                                                  database
//   corosched_cluster_inbox_delivered_total        counter, wakes and
//                                                  cancels from other
//                                                  daemons applied here
//
// Thread-safety: every method from any thread; relaxed atomics, since
// each number orders nothing else.
class ClusterMetrics final : public prometheus::Collectable {
 public:
  void SetOwnedTasks(uint64_t count) {
    owned_.store(count, std::memory_order_relaxed);
  }
  void OnClaimed(uint64_t count) {
    claims_.fetch_add(count, std::memory_order_relaxed);
  }
  void OnLeaseLost() { lease_lost_.fetch_add(1, std::memory_order_relaxed); }
  void OnRenewalFailed() {
    renewal_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  void OnInboxDelivered() {
    inbox_delivered_.fetch_add(1, std::memory_order_relaxed);
  }

  // prometheus::Collectable.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::atomic<uint64_t> owned_{0};
  std::atomic<uint64_t> claims_{0};
  std::atomic<uint64_t> lease_lost_{0};
  std::atomic<uint64_t> renewal_failures_{0};
  std::atomic<uint64_t> inbox_delivered_{0};
};

}  // namespace corosched::server
