#include "client/cli/exit_code.h"

namespace corosched::cli {

ExitCode ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitSuccess;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitDenied;
    default:
      return kExitFailure;
  }
}

ExitCode ExitCodeForTask(v1::TaskStatus status) {
  return status == v1::TASK_STATUS_COMPLETED ? kExitSuccess : kExitFailure;
}

}  // namespace corosched::cli
