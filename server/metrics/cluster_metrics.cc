#include "server/metrics/cluster_metrics.h"

#include "core/metrics/metric_families.h"

namespace corosched::server {

std::vector<prometheus::MetricFamily> ClusterMetrics::Collect() const {
  auto read = [](const std::atomic<uint64_t>& value) {
    return static_cast<double>(value.load(std::memory_order_relaxed));
  };
  std::vector<prometheus::MetricFamily> families;
  families.push_back(GaugeFamily(
      "corosched_cluster_owned_tasks",
      "Unfinished tasks this daemon runs under its lease.", read(owned_)));
  families.push_back(
      CounterFamily("corosched_cluster_claims_total",
                    "Tasks this daemon claimed from the shared store: "
                    "released by, or left behind by, another daemon.",
                    read(claims_)));
  families.push_back(CounterFamily(
      "corosched_cluster_lease_lost_total",
      "Times this daemon lost its lease and abandoned every task it ran.",
      read(lease_lost_)));
  families.push_back(
      CounterFamily("corosched_cluster_lease_renewal_failures_total",
                    "Lease renewals that did not reach the database.",
                    read(renewal_failures_)));
  families.push_back(CounterFamily(
      "corosched_cluster_inbox_delivered_total",
      "Wakes and cancels queued by other daemons and applied here.",
      read(inbox_delivered_)));
  return families;
}

}  // namespace corosched::server
