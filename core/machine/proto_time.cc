#include "core/machine/proto_time.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace corosched::machine {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp range.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

}  // namespace

google::protobuf::Timestamp ToProtoTimestamp(absl::Time time) {
  const int64_t nanos = absl::ToUnixNanos(time);  // saturates far from 1970
  google::protobuf::Timestamp proto;
  int64_t seconds = nanos / kNanosPerSecond;
  int64_t rest = nanos % kNanosPerSecond;
  if (rest < 0) {  // Timestamp nanos are always non-negative
    rest += kNanosPerSecond;
    --seconds;
  }
  proto.set_seconds(seconds);
  proto.set_nanos(static_cast<int32_t>(rest));
  return proto;
}

absl::StatusOr<absl::Time> FromProtoTimestamp(
    const google::protobuf::Timestamp& proto) {
  if (proto.nanos() < 0 || proto.nanos() >= kNanosPerSecond ||
      proto.seconds() < kMinTimestampSeconds ||
      proto.seconds() > kMaxTimestampSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed timestamp {seconds: ", proto.seconds(),
                     ", nanos: ", proto.nanos(), "}"));
  }
  return absl::FromUnixSeconds(proto.seconds()) +
         absl::Nanoseconds(proto.nanos());
}

absl::StatusOr<absl::Duration> FromProtoDuration(
    const google::protobuf::Duration& proto) {
  const bool mixed_signs = (proto.seconds() > 0 && proto.nanos() < 0) ||
                           (proto.seconds() < 0 && proto.nanos() > 0);
  if (mixed_signs || proto.nanos() <= -kNanosPerSecond ||
      proto.nanos() >= kNanosPerSecond) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed duration {seconds: ", proto.seconds(), ", nanos: ",
        proto.nanos(), "}; write it as a string of seconds such as \"1.5s\""));
  }
  return absl::Seconds(proto.seconds()) + absl::Nanoseconds(proto.nanos());
}

google::protobuf::Duration ToProtoDuration(absl::Duration duration) {
  google::protobuf::Duration proto;
  const int64_t seconds =
      absl::IDivDuration(duration, absl::Seconds(1), &duration);
  proto.set_seconds(seconds);
  proto.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
  return proto;
}

}  // namespace corosched::machine
