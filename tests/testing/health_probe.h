#pragma once

// grpc.health.v1.Health/Check for tests, without generated health.proto
// classes (gRPC's Debian packages do not ship them): HealthCheckRequest is
// one string field 1 and HealthCheckResponse one enum field 1, which have
// the wire format of google.protobuf.StringValue and Int32Value.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace corosched::testing {

// HealthCheckResponse.ServingStatus values.
inline constexpr int kHealthServing = 1;
inline constexpr int kHealthNotServing = 2;

// The serving status of `service` ("" for the whole server), or the RPC's
// failure (UNAVAILABLE when nothing answers). Blocks up to `timeout`.
absl::StatusOr<int> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                absl::Duration timeout = absl::Seconds(5),
                                const std::string& service = "");

}  // namespace corosched::testing
