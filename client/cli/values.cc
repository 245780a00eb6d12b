#include "client/cli/values.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/cli/args.h"
#include "client/json_syntax.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace corosched::cli {
namespace {

namespace pb = ::google::protobuf;

constexpr absl::string_view kStatusPrefix = "TASK_STATUS_";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// Stricter than strtod on purpose: "01234", "+1", "0x1f", "1." stay text.
bool IsJsonNumber(absl::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    return i > start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

// A `k=v` pair split at the first '='.
absl::StatusOr<std::pair<std::string, std::string>> SplitAssignment(
    absl::string_view assignment, absl::string_view what) {
  const size_t equals = assignment.find('=');
  if (equals == absl::string_view::npos || equals == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", what, "=VALUE, got \"", assignment, "\""));
  }
  return std::make_pair(std::string(assignment.substr(0, equals)),
                        std::string(assignment.substr(equals + 1)));
}

absl::StatusOr<v1::Value> ParseScalar(absl::string_view name,
                                      absl::string_view text) {
  v1::Value value;
  if (text == "true" || text == "false") {
    value.set_bool_(text == "true");
  } else if (IsJsonNumber(text)) {
    double number = 0;
    if (!absl::SimpleAtod(text, &number) || !std::isfinite(number)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ", text, " is out of range for a number"));
    }
    value.set_number(number);
  } else if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    pb::Value json;
    const bool parsed = CheckJsonSyntax(text).ok() &&
                        pb::util::JsonStringToMessage(
                            pb::StringPiece(text.data(), text.size()), &json)
                            .ok();
    if (!parsed || !json.has_string_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ", text,
                       " is not a JSON string literal (check its escapes)"));
    }
    value.set_string(json.string_value());
  } else if (text == "null" || absl::StartsWith(text, "{") ||
             absl::StartsWith(text, "[")) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": --var takes a string, number or bool, not ", text,
                     "; pass JSON with --var-json ", name, "='", text,
                     "', or quote it to pass it as text: --var ", name, "='\"",
                     text, "\"'"));
  } else {
    value.set_string(std::string(text));
  }
  return value;
}

}  // namespace

absl::StatusOr<std::pair<std::string, v1::Value>> ParseVariable(
    absl::string_view assignment) {
  auto pair = SplitAssignment(assignment, "NAME");
  if (!pair.ok()) return pair.status();
  absl::StatusOr<v1::Value> value = ParseScalar(pair->first, pair->second);
  if (!value.ok()) return value.status();
  return std::make_pair(std::move(pair->first), *std::move(value));
}

absl::StatusOr<std::pair<std::string, v1::Value>> ParseJsonVariable(
    absl::string_view assignment) {
  auto pair = SplitAssignment(assignment, "NAME");
  if (!pair.ok()) return pair.status();
  const std::string& text = pair->second;
  absl::Status syntax = CheckJsonSyntax(text);
  pb::Value json;
  if (syntax.ok() && !pb::util::JsonStringToMessage(
                          pb::StringPiece(text.data(), text.size()), &json)
                          .ok()) {
    syntax = absl::InvalidArgumentError("not a JSON value");
  }
  if (!syntax.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(pair->first, ": malformed JSON: ", syntax.message(),
                     "; for plain text use --var ", pair->first, "=TEXT"));
  }
  v1::Value value;
  switch (json.kind_case()) {
    case pb::Value::kStringValue:
      value.set_string(json.string_value());
      break;
    case pb::Value::kNumberValue:
      value.set_number(json.number_value());
      break;
    case pb::Value::kBoolValue:
      value.set_bool_(json.bool_value());
      break;
    default:
      *value.mutable_json() = std::move(json);
      break;
  }
  return std::make_pair(std::move(pair->first), std::move(value));
}

absl::StatusOr<std::pair<std::string, std::string>> ParseLabel(
    absl::string_view assignment) {
  return SplitAssignment(assignment, "KEY");
}

absl::StatusOr<v1::TaskStatus> ParseTaskStatus(absl::string_view text) {
  std::string name = absl::AsciiStrToUpper(text);
  if (!absl::StartsWith(name, kStatusPrefix)) {
    name = absl::StrCat(kStatusPrefix, name);
  }
  v1::TaskStatus status = v1::TASK_STATUS_UNSPECIFIED;
  if (!v1::TaskStatus_Parse(name, &status) ||
      status == v1::TASK_STATUS_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown task state \"", text,
        "\"; expected one of ready, sleeping, awaiting, completed, failed, "
        "cancelled"));
  }
  return status;
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) ||
      duration == absl::InfiniteDuration() ||
      duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a positive duration with a unit, such as 10s, "
                     "500ms, 1.5m or 1h30m; got \"",
                     text, "\""));
  }
  return duration;
}

absl::StatusOr<int32_t> ParsePageSize(absl::string_view text) {
  int32_t size = 0;
  if (!absl::SimpleAtoi(text, &size) || size < 1 || size > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a page size from 1 to 1000, got \"", text, "\""));
  }
  return size;
}

absl::StatusOr<int> ParseConcurrency(absl::string_view text) {
  int concurrency = 0;
  if (!absl::SimpleAtoi(text, &concurrency) || concurrency < 1 ||
      concurrency > kMaxWorkerConcurrency) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected how many items to run at once, from 1 to ",
                     kMaxWorkerConcurrency, "; got \"", text, "\""));
  }
  return concurrency;
}

absl::StatusOr<uint64_t> ParseSequence(absl::string_view text) {
  uint64_t sequence = 0;
  if (text.empty() || !IsDigit(text.front()) ||
      !absl::SimpleAtoi(text, &sequence)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected an event sequence number (0 or more), got \"", text, "\""));
  }
  return sequence;
}

std::string TaskStatusName(v1::TaskStatus status) {
  absl::string_view name = v1::TaskStatus_Name(status);
  absl::ConsumePrefix(&name, kStatusPrefix);
  return std::string(name);
}

}  // namespace corosched::cli
