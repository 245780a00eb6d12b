#pragma once

#include <string>

#include "absl/status/status.h"

namespace corosched {

// What a FailWork call carries, from a handler's non-OK status.
struct WorkFailure {
  std::string error;    // 1 to kMaxErrorBytes
  std::string message;  // at most kMaxMessageBytes
  bool retryable = true;

  // The daemon's limits (work.proto, FailWorkRequest).
  static constexpr size_t kMaxErrorBytes = 128;
  static constexpr size_t kMaxMessageBytes = 32 << 10;
};

// The failure `status` reports: a WorkError's fields, or else error = the
// code's name in lower case and retryable per code (see WorkError in
// client/worker.h). Names and messages are cut to the daemon's limits, so the
// call is never refused for their length. REQUIRES: !status.ok().
WorkFailure FailureFromStatus(const absl::Status& status);

// Whether a handler's status of this code may succeed on a retry.
bool IsRetryableCode(absl::StatusCode code);

}  // namespace corosched
