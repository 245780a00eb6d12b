#pragma once

#include <string>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace corosched {

// Builders for the prometheus::MetricFamily values a Collectable's Collect()
// returns, so collectors read as a list of metrics:
//
//   MetricFamily wakes = NewFamily("corosched_wakes_total", "...",
//                                  prometheus::MetricType::Counter);
//   AddSample(wakes, 12, {{"source", "self"}});
//   families.push_back(GaugeFamily("corosched_run_queue_depth", "...", 3));

prometheus::MetricFamily NewFamily(std::string name, std::string help,
                                   prometheus::MetricType type);

// Adds one series with `labels` to a Gauge or Counter family.
void AddSample(prometheus::MetricFamily& family, double value,
               std::vector<prometheus::ClientMetric::Label> labels = {});

// A family of one unlabelled series.
prometheus::MetricFamily GaugeFamily(std::string name, std::string help,
                                     double value);
prometheus::MetricFamily CounterFamily(std::string name, std::string help,
                                       double value);
prometheus::MetricFamily HistogramFamily(
    std::string name, std::string help,
    prometheus::ClientMetric::Histogram histogram);

}  // namespace corosched
