#include "core/metrics/metric_families.h"

#include <utility>

namespace corosched {

using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily NewFamily(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(MetricFamily& family, double value,
               std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  metric.label = std::move(labels);
  if (family.type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
}

MetricFamily GaugeFamily(std::string name, std::string help, double value) {
  MetricFamily family =
      NewFamily(std::move(name), std::move(help), MetricType::Gauge);
  AddSample(family, value);
  return family;
}

MetricFamily CounterFamily(std::string name, std::string help, double value) {
  MetricFamily family =
      NewFamily(std::move(name), std::move(help), MetricType::Counter);
  AddSample(family, value);
  return family;
}

MetricFamily HistogramFamily(std::string name, std::string help,
                             prometheus::ClientMetric::Histogram histogram) {
  MetricFamily family =
      NewFamily(std::move(name), std::move(help), MetricType::Histogram);
  family.metric.emplace_back().histogram = std::move(histogram);
  return family;
}

}  // namespace corosched
