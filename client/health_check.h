#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace corosched::internal {

// grpc.health.v1.Health/Check without the generated health.proto classes
// (gRPC's packages do not ship them, and only proto/ runs protoc): both
// messages are one field each, so they are encoded by hand.

// HealthCheckRequest{service}, serialized.
std::string EncodeHealthCheckRequest(absl::string_view service);

// HealthCheckResponse.status (0 UNKNOWN, 1 SERVING, 2 NOT_SERVING,
// 3 SERVICE_UNKNOWN); INTERNAL when `bytes` is not such a message.
absl::StatusOr<int> DecodeHealthCheckResponse(absl::string_view bytes);

// Calls Check on `channel`; `context` carries the deadline. Blocks.
absl::StatusOr<int> CallHealthCheck(
    const std::shared_ptr<grpc::ChannelInterface>& channel,
    grpc::ClientContext* context, absl::string_view service);

}  // namespace corosched::internal
