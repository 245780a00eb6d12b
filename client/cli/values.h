#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "corosched/v1/task_definition.pb.h"
#include "corosched/v1/task_state.pb.h"

namespace corosched::cli {

// Flag values of the `corosched` tool, parsed. Every error is
// INVALID_ARGUMENT with a message that says what was expected; the tool
// reports it as a usage error (exit 2).

// `--var NAME=VALUE`: VALUE is read as a JSON scalar when it is one:
//   n=3, n=-2.5e3          number
//   ok=true, ok=false      bool
//   zip="01234"            string (JSON string literal; escapes allowed)
// and otherwise as plain text (item=laptop, note=two words, empty=).
// Quote a value to keep it a string: id="42", flag="true". JSON null,
// objects and arrays are refused, pointing at --var-json.
absl::StatusOr<std::pair<std::string, v1::Value>> ParseVariable(
    absl::string_view assignment);

// `--var-json NAME=JSON`: JSON is any JSON value, e.g.
// order={"sku": "A1", "qty": [1, 2]}, tags=["a"], none=null, n=3. A JSON
// string, number or bool becomes that kind of value, anything else `json`.
// INVALID_ARGUMENT for malformed JSON, with where it went wrong.
absl::StatusOr<std::pair<std::string, v1::Value>> ParseJsonVariable(
    absl::string_view assignment);

// `--label KEY=VALUE`: KEY non-empty, VALUE taken as it is.
absl::StatusOr<std::pair<std::string, std::string>> ParseLabel(
    absl::string_view assignment);

// `--state S`: a TaskStatus in any case, with or without the TASK_STATUS_
// prefix: "awaiting", "COMPLETED", "task_status_failed".
absl::StatusOr<v1::TaskStatus> ParseTaskStatus(absl::string_view text);

// `--timeout`, `--start-after`: a positive duration with a unit, e.g. "10s",
// "500ms", "1.5m", "1h30m".
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// `--page-size`: 1 to 1000.
absl::StatusOr<int32_t> ParsePageSize(absl::string_view text);

// `worker --concurrency`: 1 to kMaxWorkerConcurrency (args.h).
absl::StatusOr<int> ParseConcurrency(absl::string_view text);

// `--after`: a sequence number, 0 or more.
absl::StatusOr<uint64_t> ParseSequence(absl::string_view text);

// "COMPLETED" for TASK_STATUS_COMPLETED: the name people see.
std::string TaskStatusName(v1::TaskStatus status);

}  // namespace corosched::cli
