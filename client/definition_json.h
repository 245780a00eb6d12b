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

// INVALID_ARGUMENT when `json` is not JSON ("line 2, column 5: expected ...")
// or does not map onto a TaskDefinition (protobuf's message, e.g. an unknown
// field).
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
