#pragma once

// The one clock every process of bench/peers reads for job latency.

#include <chrono>
#include <cstdint>

namespace corosched::peers {

// CLOCK_MONOTONIC in µs (libstdc++'s steady_clock): one clock for every
// process of the host; Node's process.hrtime on the peers' side reads the
// same, so a due time written by one process compares with a start time
// read by another.
inline int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace corosched::peers
