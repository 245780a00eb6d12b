#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace corosched::machine {

// Conversions between Abseil time and the protobuf well-known types. The
// From* functions return INVALID_ARGUMENT for values protobuf itself calls
// malformed (nanos out of range, or of the other sign than seconds).
google::protobuf::Timestamp ToProtoTimestamp(absl::Time time);
absl::StatusOr<absl::Time> FromProtoTimestamp(
    const google::protobuf::Timestamp& proto);
google::protobuf::Duration ToProtoDuration(absl::Duration duration);
absl::StatusOr<absl::Duration> FromProtoDuration(
    const google::protobuf::Duration& proto);

}  // namespace corosched::machine
