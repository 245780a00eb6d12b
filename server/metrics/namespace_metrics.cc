#include "server/metrics/namespace_metrics.h"

#include <utility>

#include "core/metrics/metric_families.h"

namespace corosched::server {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr const char* kOutcomeLabels[] = {"admitted", "rate_limited",
                                          "at_bound"};

}  // namespace

NamespaceMetrics::NamespaceMetrics() {
  absl::MutexLock lock(&mu_);
  LabelIndex("default");  // always labelled, so its series exist from 0
}

void NamespaceMetrics::SetUnfinishedSource(UnfinishedSource source) {
  absl::MutexLock lock(&source_mu_);
  source_ = std::move(source);
}

size_t NamespaceMetrics::LabelIndex(absl::string_view namespace_name) const {
  if (auto it = index_.find(namespace_name); it != index_.end()) {
    return it->second;
  }
  if (labels_.size() + 1 >= kMaxNamespaceLabels) {
    // The last label is "_other", made once.
    if (auto other = index_.find(kOtherLabel); other != index_.end()) {
      return other->second;
    }
    namespace_name = kOtherLabel;
  }
  labels_.emplace_back(namespace_name);
  submits_.push_back({});
  index_.emplace(std::string(namespace_name), labels_.size() - 1);
  return labels_.size() - 1;
}

void NamespaceMetrics::OnSubmit(absl::string_view namespace_name,
                                SubmitOutcome outcome) {
  absl::MutexLock lock(&mu_);
  ++submits_[LabelIndex(namespace_name)][static_cast<size_t>(outcome)];
}

std::vector<MetricFamily> NamespaceMetrics::Collect() const {
  std::vector<std::pair<std::string, uint64_t>> unfinished;
  {
    absl::MutexLock lock(&source_mu_);
    if (source_) unfinished = source_();
  }
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> tasks(labels_.size(), 0);
  for (const auto& [name, count] : unfinished) {
    const size_t index = LabelIndex(name);
    if (index >= tasks.size()) tasks.resize(index + 1, 0);
    tasks[index] += count;
  }
  MetricFamily gauge = NewFamily(
      "corosched_namespace_tasks",
      "Unfinished tasks per namespace (default and the first 99 other "
      "namespaces seen; later ones summed as _other).",
      MetricType::Gauge);
  MetricFamily counter = NewFamily(
      "corosched_namespace_submits_total",
      "Submits per namespace by outcome: admitted, rate_limited "
      "(--namespace-submit-rate) or at_bound (--namespace-max-tasks).",
      MetricType::Counter);
  for (size_t i = 0; i < labels_.size(); ++i) {
    AddSample(gauge, double(tasks[i]), {{"namespace", labels_[i]}});
    for (size_t outcome = 0; outcome < std::size(kOutcomeLabels); ++outcome) {
      AddSample(
          counter, double(submits_[i][outcome]),
          {{"namespace", labels_[i]}, {"outcome", kOutcomeLabels[outcome]}});
    }
  }
  std::vector<MetricFamily> families;
  families.push_back(std::move(gauge));
  families.push_back(std::move(counter));
  return families;
}

}  // namespace corosched::server
