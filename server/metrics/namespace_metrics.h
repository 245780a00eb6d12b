#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace corosched::server {

// Namespaces as Prometheus metrics (docs/service.md, "Namespaces"): how
// many unfinished tasks each holds, and how its submits fared against its
// limits (server/tasks/namespace_admission.h).
//
//   auto metrics = std::make_shared<NamespaceMetrics>();
//   metrics->SetUnfinishedSource([&] { return admission.AllUnfinished(); });
//   metrics->OnSubmit("b", NamespaceMetrics::SubmitOutcome::kAdmitted);
//   exposer.RegisterCollectable(metrics);
//   metrics->SetUnfinishedSource(nullptr);  // before the source goes away
//
// Exported (prefix corosched_namespace_, never a task id):
//   tasks{namespace}                   gauge, unfinished tasks, read from the
//                                      source at each scrape
//   submits_total{namespace,outcome}   counter, submits that reached the
//                                      namespace's limits: admitted,
//                                      rate_limited (--namespace-submit-
//                                      rate) or at_bound (--namespace-max-
//                                      tasks), each present from 0
//
// Cardinality is bounded: `default` and the first kMaxNamespaceLabels - 1
// other namespaces seen get a label of their own for the daemon's life,
// later ones share "_other" (summed). A labelled namespace keeps its series
// at 0 once idle.
//
// Thread-safety: every method from any thread. OnSubmit takes one short
// lock (once per submit). Collect calls the source outside that lock.
class NamespaceMetrics final : public prometheus::Collectable {
 public:
  static constexpr size_t kMaxNamespaceLabels = 100;
  static constexpr char kOtherLabel[] = "_other";

  enum class SubmitOutcome : uint8_t { kAdmitted, kRateLimited, kAtBound };
  using UnfinishedSource =
      std::function<std::vector<std::pair<std::string, uint64_t>>()>;

  NamespaceMetrics();
  NamespaceMetrics(const NamespaceMetrics&) = delete;
  NamespaceMetrics& operator=(const NamespaceMetrics&) = delete;

  // Replaces what Collect reads the gauge from (null: labelled namespaces
  // read 0). Waits for a Collect in progress.
  void SetUnfinishedSource(UnfinishedSource source)
      ABSL_LOCKS_EXCLUDED(source_mu_);

  void OnSubmit(absl::string_view namespace_name, SubmitOutcome outcome)
      ABSL_LOCKS_EXCLUDED(mu_);

  // prometheus::Collectable.
  std::vector<prometheus::MetricFamily> Collect() const override
      ABSL_LOCKS_EXCLUDED(source_mu_, mu_);

 private:
  // The namespace's label index (into labels_ and submits_), assigned at
  // its first sight; "_other"'s once the labels are taken.
  size_t LabelIndex(absl::string_view namespace_name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex source_mu_;
  UnfinishedSource source_ ABSL_GUARDED_BY(source_mu_);

  // Mutable: a scrape may be first to see a namespace and label it.
  mutable absl::Mutex mu_;
  mutable std::vector<std::string> labels_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, size_t> index_ ABSL_GUARDED_BY(mu_);
  // By label index, then SubmitOutcome.
  mutable std::vector<std::array<uint64_t, 3>> submits_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
