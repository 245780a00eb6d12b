#include "server/work/work_checks.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "server/work/work_token.h"

namespace corosched::server {
namespace {

bool IsQueueNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-' || c == '.';
}

absl::Status NotNegative(absl::Duration d, absl::string_view field) {
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", absl::FormatDuration(d),
                     " is negative; use zero for none"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateQueueName(absl::string_view name,
                               absl::string_view field) {
  if (name.empty() || name.size() > WorkLimits::kMaxQueueNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", QuoteInput(name), " is not a queue name: it must be 1 to ",
        WorkLimits::kMaxQueueNameBytes, " bytes"));
  }
  for (char c : name) {
    if (!IsQueueNameChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", QuoteInput(name),
                       " is not a queue name: use letters, digits, _ - ."));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateQueueKey(absl::string_view key, absl::string_view field) {
  if (const size_t slash = key.find('/'); slash != absl::string_view::npos) {
    absl::Status prefix = ValidateQueueName(key.substr(0, slash), field);
    if (!prefix.ok()) return prefix;
    key.remove_prefix(slash + 1);
  }
  return ValidateQueueName(key, field);
}

absl::Status ValidateWorkerIdentity(absl::string_view worker) {
  if (worker.size() > WorkLimits::kMaxWorkerIdentityBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "worker_identity: ", worker.size(), " bytes is more than the ",
        WorkLimits::kMaxWorkerIdentityBytes, " allowed"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkSpec(const WorkSpec& spec) {
  if (spec.task_id.empty() ||
      spec.task_id.size() > WorkToken::kMaxTaskIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("task_id: ", QuoteInput(spec.task_id), " must be 1 to ",
                     WorkToken::kMaxTaskIdBytes, " bytes"));
  }
  if (spec.attempt == 0) {
    return absl::InvalidArgumentError("attempt: attempts count from 1");
  }
  if (absl::Status s = ValidateQueueKey(spec.queue); !s.ok()) return s;
  if (absl::Status s = NotNegative(spec.timeout, "timeout"); !s.ok()) return s;
  if (absl::Status s = NotNegative(spec.heartbeat, "heartbeat"); !s.ok()) {
    return s;
  }
  if (spec.timeout == absl::ZeroDuration() &&
      spec.heartbeat == absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "timeout: the work needs a timeout or a heartbeat interval, or a "
        "worker that died would hold its item for ever");
  }
  return NotNegative(spec.schedule_timeout, "schedule_timeout");
}

absl::Status ValidateFailure(absl::string_view error,
                             absl::string_view message) {
  if (error.empty() || error.size() > WorkLimits::kMaxErrorNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("error: ", QuoteInput(error), " must be a name of 1 to ",
                     WorkLimits::kMaxErrorNameBytes, " bytes"));
  }
  if (message.size() > WorkLimits::kMaxErrorMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message: ", message.size(), " bytes is more than the ",
        WorkLimits::kMaxErrorMessageBytes, " allowed; shorten it"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePoll(uint32_t max_items, absl::Duration wait) {
  if (max_items > WorkLimits::kMaxPollItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_items: ", max_items, " is more than the ",
                     WorkLimits::kMaxPollItems, " one poll may take"));
  }
  if (wait < absl::ZeroDuration() || wait > WorkLimits::kMaxPollWait) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wait: ", absl::FormatDuration(wait), " is not from 0s to ",
        absl::FormatDuration(WorkLimits::kMaxPollWait),
        "; poll again instead"));
  }
  return absl::OkStatus();
}

}  // namespace corosched::server
