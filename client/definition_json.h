#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "corosched/v1/task_definition.pb.h"
#include "google/protobuf/struct.pb.h"

namespace corosched {

// Task definitions as people write them: protobuf's JSON mapping of
// TaskDefinition (lowerCamelCase or proto field names, durations as "1.5s";
// see docs/task-definitions.md). The client only parses; the daemon validates
// (and its INVALID_ARGUMENT names the field at fault).
//
// This is the project's one reader of definition JSON, used by the client,
// the CLI, the end-to-end tests and the benchmarks. It lives here because
// the client is where JSON is read: the daemon receives definitions as
// messages over gRPC, and core/ runs them as messages, so neither needs a
// parser (core/'s unit tests write their fixtures as JSON and read them with
// protobuf's JsonStringToMessage, core/machine/testing/definitions.h). A
// library of its own that core/ could link would serve no product code.

// INVALID_ARGUMENT when `json` is not JSON, with the line and column:
//   malformed JSON: line 2, column 5: expected ...
// or does not map onto a TaskDefinition, with the field path:
//   not a task definition: states["B"]: unknown field "yeild"; State has
//   fields emit, actions, yield, sleep, await, choice, complete, fail (...)
absl::StatusOr<v1::TaskDefinition> ParseTaskDefinitionJson(
    absl::string_view json);

// Reads and parses the file at `path`. NOT_FOUND when it does not exist,
// PERMISSION_DENIED or INVALID_ARGUMENT otherwise; every message starts with
// the path ("examples/bad.json: line 2, column 5: ...").
absl::StatusOr<v1::TaskDefinition> LoadTaskDefinitionFile(
    const std::string& path);

// The whole file as text; errors as LoadTaskDefinitionFile's.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// A JSON object as a google.protobuf.Struct (a wake payload).
// INVALID_ARGUMENT when `json` is not JSON or not an object.
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(
    absl::string_view json);

// `message` as protobuf JSON on one line (lowerCamelCase names), or, with
// `pretty`, indented over several lines.
std::string ToJson(const google::protobuf::Message& message,
                   bool pretty = false);

}  // namespace corosched
