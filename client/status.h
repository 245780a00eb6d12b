#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace corosched {

// The one place gRPC statuses become absl::Status. Canonical codes map one to
// one (both follow google.rpc.Code); the message is kept as the daemon wrote
// it, because the daemon's messages are written for people.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace corosched
