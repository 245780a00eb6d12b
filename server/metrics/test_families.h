#pragma once

// Test-only: finding a family and a series in what a Collect() returned.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/metric_family.h"

namespace corosched::server::testing {

using Labels = std::vector<std::pair<std::string, std::string>>;

// The family called `name`, or null.
inline const prometheus::MetricFamily* FindFamily(
    const std::vector<prometheus::MetricFamily>& families,
    absl::string_view name) {
  for (const prometheus::MetricFamily& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

// Not on a temporary: the pointer would dangle once the statement ends.
const prometheus::MetricFamily* FindFamily(
    std::vector<prometheus::MetricFamily>&& families,
    absl::string_view name) = delete;

// The series of `family` with exactly `labels`, or null.
inline const prometheus::ClientMetric* FindSeries(
    const prometheus::MetricFamily* family, const Labels& labels) {
  if (family == nullptr) return nullptr;
  for (const prometheus::ClientMetric& metric : family->metric) {
    if (metric.label.size() != labels.size()) continue;
    bool same = true;
    for (size_t i = 0; i < labels.size(); ++i) {
      same = same && metric.label[i].name == labels[i].first &&
             metric.label[i].value == labels[i].second;
    }
    if (same) return &metric;
  }
  return nullptr;
}

}  // namespace corosched::server::testing
