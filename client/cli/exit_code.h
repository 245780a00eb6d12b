#pragma once

#include "absl/status/status.h"
#include "corosched/v1/task_state.pb.h"

namespace corosched::cli {

// The `corosched` tool's exit codes (docs/cli.md).
enum ExitCode : int {
  kExitSuccess = 0,
  // A task that ended FAILED or CANCELLED, or any error not listed below.
  kExitFailure = 1,
  kExitUsage = 2,
  // Worth retrying: UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED.
  kExitUnavailable = 3,
  kExitNotFound = 4,
  // UNAUTHENTICATED (no or bad credentials) or PERMISSION_DENIED (valid,
  // but not allowed in that namespace): retrying will not help.
  kExitDenied = 5,
};

// The exit code for a call's status.
ExitCode ExitCodeFor(const absl::Status& status);

// The exit code for a task that has ended: success only for COMPLETED.
ExitCode ExitCodeForTask(v1::TaskStatus status);

}  // namespace corosched::cli
