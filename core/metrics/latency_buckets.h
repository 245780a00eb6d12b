#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace corosched {

// Histogram bucket upper bounds for every Corosched latency histogram, so a
// dashboard can compare schedule delay, poll, task, RPC and store-commit
// latencies bucket for bucket: 1us to 10s in a 1-2.5-5 progression (22
// finite bounds; a +Inf bucket follows them).
inline constexpr std::array<int64_t, 22> kLatencyBucketBoundsNs = {
    1'000,         2'500,          5'000,       10'000,        25'000,
    50'000,        100'000,        250'000,     500'000,       1'000'000,
    2'500'000,     5'000'000,      10'000'000,  25'000'000,    50'000'000,
    100'000'000,   250'000'000,    500'000'000, 1'000'000'000, 2'500'000'000,
    5'000'000'000, 10'000'000'000,
};

// The same bounds in seconds (Prometheus base unit), for
// prometheus::Histogram in server/: BuildHistogram()...Add({}, bounds).
std::vector<double> LatencyBucketBoundsSeconds();

}  // namespace corosched
