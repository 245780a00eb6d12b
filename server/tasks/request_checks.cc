#include "server/tasks/request_checks.h"

#include "absl/strings/str_cat.h"
#include "core/machine/proto_time.h"
#include "core/quote.h"

namespace corosched::server {
namespace {

bool IsIdChar(char c, absl::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
         extra.find(c) != absl::string_view::npos;
}

bool AllIdChars(absl::string_view text, absl::string_view extra) {
  for (char c : text) {
    if (!IsIdChar(c, extra)) return false;
  }
  return true;
}

// A start `value` of `field` that is more than `max_delay` away.
absl::Status TooFarAhead(absl::string_view field, absl::string_view value,
                         absl::Duration max_delay) {
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": ", value,
      " is further ahead than this daemon lets a task wait to start "
      "(--max-start-delay ",
      absl::FormatDuration(max_delay), "); submit it nearer its start"));
}

}  // namespace

absl::Status CheckTaskId(const std::string& id, const char* field) {
  if (id.empty() || id.size() > kMaxTaskIdBytes || !AllIdChars(id, ":")) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", QuoteInput(id), " is not a valid task id; use 1 to ",
        kMaxTaskIdBytes, " of letters, digits, '_', '-', '.' and ':'"));
  }
  return absl::OkStatus();
}

absl::Status CheckLookupId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("task_id: required");
  return CheckTaskId(id, "task_id");
}

absl::Status CheckCancelReason(const std::string& reason) {
  if (reason.size() > kMaxCancelReasonBytes) {
    return absl::InvalidArgumentError(absl::StrCat("reason: ", reason.size(),
                                                   " bytes; the limit is ",
                                                   kMaxCancelReasonBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckLabels(
    const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.size() > static_cast<size_t>(kMaxLabels)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "labels: ", labels.size(), " labels; the limit is ", kMaxLabels));
  }
  for (const auto& [key, value] : labels) {
    if (key.empty() || key.size() > kMaxLabelKeyBytes ||
        !AllIdChars(key, "/")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "labels[", QuoteInput(key), "]: a label key is 1 to ",
          kMaxLabelKeyBytes, " of letters, digits, '_', '-', '.' and '/'"));
    }
    if (value.size() > kMaxLabelValueBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "labels[", QuoteInput(key), "]: the value is ", value.size(),
          " bytes; the limit is ", kMaxLabelValueBytes));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", requested,
                     " is negative; use 0 for the "
                     "default of ",
                     kDefaultPageSize, " or up to ", kMaxPageSize));
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

absl::StatusOr<std::optional<absl::Time>> StartTime(
    const v1::SubmitTaskRequest& request, absl::Time now,
    absl::Duration max_delay) {
  if (request.has_start_at() && request.has_start_after()) {
    return absl::InvalidArgumentError(
        "start_at, start_after: set at most one of them");
  }
  if (request.has_start_at()) {
    absl::StatusOr<absl::Time> at =
        machine::FromProtoTimestamp(request.start_at());
    if (!at.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("start_at: ", at.status().message()));
    }
    if (*at - now > max_delay) {
      return TooFarAhead(
          "start_at",
          absl::StrCat(
              absl::FormatTime(absl::RFC3339_sec, *at, absl::UTCTimeZone()),
              " (", absl::FormatDuration(*at - now), " from now)"),
          max_delay);
    }
    return std::optional<absl::Time>(*at);
  }
  if (request.has_start_after()) {
    absl::StatusOr<absl::Duration> after =
        machine::FromProtoDuration(request.start_after());
    if (!after.ok() || *after < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "start_after: expected a duration of zero or more");
    }
    if (*after > max_delay) {
      // In whole seconds when it is, as the client most likely wrote it.
      const int64_t seconds = absl::ToInt64Seconds(*after);
      return TooFarAhead("start_after",
                         *after == absl::Seconds(seconds)
                             ? absl::StrCat(seconds, "s")
                             : absl::FormatDuration(*after),
                         max_delay);
    }
    return std::optional<absl::Time>(now + *after);
  }
  return std::optional<absl::Time>();
}

}  // namespace corosched::server
