#include "core/metrics/latency_buckets.h"

namespace corosched {

std::vector<double> LatencyBucketBoundsSeconds() {
  std::vector<double> bounds;
  bounds.reserve(kLatencyBucketBoundsNs.size());
  // Division, not * 1e-9: an exact integer over 1e9 rounds to the same
  // double as the literal (1000 / 1e9 == 1e-06), so `le` labels read cleanly.
  for (int64_t ns : kLatencyBucketBoundsNs) bounds.push_back(double(ns) / 1e9);
  return bounds;
}

}  // namespace corosched
