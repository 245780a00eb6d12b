#include "client/work_error.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/optional.h"
#include "client/worker.h"

namespace corosched {
namespace {

// A WorkError carries its fields as a payload of this type, "<retryable
// 0|1>\n<error>", so any status the handler returns can be told apart.
constexpr absl::string_view kWorkErrorType =
    "type.googleapis.com/corosched.client.WorkError";
constexpr absl::string_view kDefaultError = "handler_error";

// `text` cut to at most `max` bytes, not inside a UTF-8 sequence (the
// daemon's strings are proto3 strings, which must be valid UTF-8).
std::string CutUtf8(absl::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end));
}

}  // namespace

absl::Status WorkError(absl::string_view error, absl::string_view message,
                       bool retryable) {
  absl::Status status(absl::StatusCode::kAborted, message);
  status.SetPayload(kWorkErrorType, absl::Cord(absl::StrCat(
                                        retryable ? "1" : "0", "\n", error)));
  return status;
}

bool IsRetryableCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kUnauthenticated:
      return false;
    default:
      return true;
  }
}

WorkFailure FailureFromStatus(const absl::Status& status) {
  WorkFailure failure;
  failure.message = CutUtf8(status.message(), WorkFailure::kMaxMessageBytes);
  absl::optional<absl::Cord> payload = status.GetPayload(kWorkErrorType);
  if (payload.has_value()) {
    std::string text(*payload);
    std::pair<std::string, std::string> parts =
        absl::StrSplit(text, absl::MaxSplits('\n', 1));
    failure.retryable = parts.first != "0";
    failure.error = parts.second;
  } else {
    // "UNAVAILABLE" -> "unavailable": the style of the daemon's own error
    // names (timeout, heartbeat_timeout), so a state's retry can list it.
    failure.error =
        absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
    failure.retryable = IsRetryableCode(status.code());
  }
  failure.error = CutUtf8(failure.error, WorkFailure::kMaxErrorBytes);
  if (failure.error.empty()) failure.error = std::string(kDefaultError);
  return failure;
}

}  // namespace corosched
