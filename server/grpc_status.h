#pragma once

// The one place absl::Status becomes grpc::Status. The canonical codes are
// the same numbers in both; the message passes through unchanged, so what a
// client reads is what the daemon's code wrote.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace corosched::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace corosched::server
