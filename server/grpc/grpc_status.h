#pragma once

// The one place absl::Status becomes grpc::Status. The canonical codes are
// the same numbers in both; the message passes through unchanged, so what a
// client reads is what the daemon's code wrote, unless it is longer than
// kMaxGrpcMessageBytes.

#include <cstddef>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace corosched::server {

// The longest status message a client is sent. gRPC carries it in a
// trailer, and a client refuses trailers over its metadata limit (8 KiB by
// default), reporting RESOURCE_EXHAUSTED instead of what went wrong.
// Messages are kept short where they are written (QuoteInput, the
// validator's problem list); a longer one is cut here, saying so.
inline constexpr size_t kMaxGrpcMessageBytes = 4096;

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace corosched::server
