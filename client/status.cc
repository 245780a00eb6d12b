#include "client/status.h"

namespace corosched {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return FromStatusCode(static_cast<int>(status.error_code()),
                        status.error_message());
}

absl::Status FromStatusCode(int code, absl::string_view message) {
  if (code == 0) return absl::OkStatus();
  // A number outside the canonical range cannot come from a conforming peer;
  // absl::Status would turn it into UNKNOWN anyway, say so explicitly.
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    return absl::UnknownError(message);
  }
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

}  // namespace corosched
