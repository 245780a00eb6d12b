#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/machine/limits.h"
#include "corosched/v1/task_definition.pb.h"

namespace corosched::machine {

// Reads a TaskDefinition from JSON through protobuf's own JSON mapping:
// lowerCamelCase or proto field names, durations as "1.5s", unknown fields
// are errors. Does not validate (see ValidateDefinition).
//
// INVALID_ARGUMENT when the text is longer than max_definition_json_bytes or
// does not parse; the message says where (`states["A"].sleep.duration`, the
// state named by its key), what was found, and what was expected, e.g.
//   task definition JSON: states["A"]: unknown field "yeild"; State has
//   fields emit, actions, yield, sleep, await, choice, complete, fail (...)
absl::StatusOr<v1::TaskDefinition> ParseDefinitionJson(
    absl::string_view json, const MachineLimits& limits = {});

// ParseDefinitionJson, then ValidateDefinition: the definition is ready to
// compile. The error lists every validation problem at once.
absl::StatusOr<v1::TaskDefinition> LoadDefinitionJson(
    absl::string_view json, const MachineLimits& limits = {});

// The definition as JSON (lowerCamelCase field names), for showing to people.
std::string DefinitionToJson(const v1::TaskDefinition& definition);

}  // namespace corosched::machine
