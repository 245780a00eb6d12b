#include "client/cli/work_answer.h"

#include <string.h>  // sigabbrev_np

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/json_syntax.h"
#include "google/protobuf/util/json_util.h"

namespace corosched::cli {
namespace {

// How much of a bad stdout an invalid_result message quotes.
constexpr size_t kQuotedBytes = 120;

WorkAnswer Failure(std::string error, std::string message, bool retryable) {
  return WorkAnswer{.error = std::move(error),
                    .message = std::move(message),
                    .retryable = retryable};
}

// "SIGSEGV" for 11; "signal 99" for one without a name.
std::string SignalName(int signal) {
  const char* abbreviation = ::sigabbrev_np(signal);
  if (abbreviation == nullptr) return absl::StrCat("signal ", signal);
  return absl::StrCat("SIG", abbreviation);
}

// The stderr line, or `otherwise` when there was none.
std::string MessageOr(const ChildOutcome& outcome, std::string otherwise) {
  if (!outcome.last_stderr_line.empty()) return outcome.last_stderr_line;
  return otherwise;
}

WorkAnswer ParseResult(const ChildOutcome& outcome, size_t stdout_limit,
                       absl::string_view program) {
  if (outcome.stdout_overflowed) {
    return Failure("result_too_large",
                   absl::StrCat(program, " wrote more than ", stdout_limit,
                                " bytes to stdout; a result is at most that"),
                   false);
  }
  const absl::string_view text =
      absl::StripAsciiWhitespace(outcome.stdout_data);
  WorkAnswer answer{.completed = true};
  if (text.empty()) {
    answer.result.set_null_value(google::protobuf::NULL_VALUE);
    return answer;
  }
  absl::Status syntax = CheckJsonSyntax(text);
  if (syntax.ok() &&
      !google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(text.data(), text.size()),
           &answer.result)
           .ok()) {
    syntax = absl::InvalidArgumentError("not a JSON value");
  }
  if (syntax.ok()) return answer;
  const bool cut = text.size() > kQuotedBytes;
  return Failure(
      "invalid_result",
      absl::StrCat(program, " exited 0 but its stdout is not one JSON value (",
                   syntax.message(), "); it began \"",
                   absl::CHexEscape(text.substr(0, kQuotedBytes)),
                   cut ? "...\"" : "\""),
      false);
}

}  // namespace

WorkAnswer AnswerFor(const ChildOutcome& outcome, StopReason stop,
                     size_t stdout_limit, absl::string_view program) {
  if (outcome.exited && outcome.exit_code == 0) {
    return ParseResult(outcome, stdout_limit, program);
  }
  switch (stop) {
    case StopReason::kCancelled:
      return Failure("cancelled",
                     absl::StrCat("the task was cancelled (or the lease "
                                  "lost) while ",
                                  program, " ran; it was stopped"),
                     false);
    case StopReason::kWorkerStopping:
      return Failure("worker_stopped",
                     absl::StrCat("the worker was stopped at once while ",
                                  program, " ran; it was killed"),
                     true);
    case StopReason::kNone:
      break;
  }
  if (outcome.exited) {
    return Failure(absl::StrCat("exit_", outcome.exit_code),
                   MessageOr(outcome, absl::StrCat(program, " exited with ",
                                                   outcome.exit_code,
                                                   " and wrote nothing to "
                                                   "stderr")),
                   true);
  }
  return Failure(
      absl::StrCat("signal_", outcome.term_signal),
      MessageOr(outcome, absl::StrCat(program, " was killed by ",
                                      SignalName(outcome.term_signal))),
      true);
}

WorkAnswer StartFailure(const absl::Status& start_error) {
  return Failure(
      "start_failed",
      absl::StrCat("could not start the command: ", start_error.message()),
      true);
}

std::string WorkLogLine(absl::string_view task_id, uint32_t attempt,
                        const WorkAnswer& answer, absl::Duration took) {
  const std::string head = absl::StrCat("task ", task_id, " attempt ", attempt);
  const std::string duration =
      absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(1)));
  if (answer.completed) return absl::StrCat(head, ": completed in ", duration);
  return absl::StrCat(head, ": failed ", answer.error,
                      answer.retryable ? " (retryable)" : "", " in ", duration,
                      ": ", answer.message);
}

}  // namespace corosched::cli
