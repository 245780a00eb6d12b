#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace corosched {

// The one place gRPC statuses become absl::Status. Canonical codes map one to
// one (both follow google.rpc.Code); the message is kept as the daemon wrote
// it, because the daemon's messages are written for people.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The same for a code that arrived as a number (SubmitTasksResponse.code):
// a number outside the canonical range becomes UNKNOWN.
absl::Status FromStatusCode(int code, absl::string_view message);

}  // namespace corosched
