#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/machine/limits.h"
#include "core/machine/validator.h"
#include "core/machine/value.h"
#include "corosched/v1/task_definition.pb.h"
#include "google/protobuf/map.h"

namespace corosched::machine {

// A definition's declared inputs (TaskDefinition.inputs): checked by the
// validator, applied when a task starts. See docs/task-definitions.md,
// "Declared inputs".

// Appends the problems of `definition`'s input declarations: a name that is
// no variable name or is declared twice, an unknown type, a default with no
// kind, a NaN, the wrong type or over max_text_bytes as JSON, a required
// input with a default, a description over max_text_bytes, more than
// max_inputs declarations. Paths are `inputs[I].name` and the like.
void CheckInputDeclarations(const v1::TaskDefinition& definition,
                            const MachineLimits& limits,
                            std::vector<DefinitionProblem>* problems);

// A task's starting variables, sorted by name.
using StartVariables = std::vector<std::pair<std::string, Value>>;

// The variables a task of `definition` starts with, given the submit's
// `inputs`. Each input must have a variable name within
// limits.max_name_bytes and a value a task can hold (ParseValue). When
// `definition` declares inputs, also: every input is declared (else the error
// lists the declared names), has its declared type, and every required one is
// given; declared inputs that are absent and have a default start with it.
// INVALID_ARGUMENT naming the input otherwise, e.g.
//   input "item" is required by approval@1: ... (its description)
// With `apply_declarations` false only the first two checks run (a restored
// snapshot's variables are not inputs).
absl::StatusOr<StartVariables> ResolveInputs(
    const v1::TaskDefinition& definition, const MachineLimits& limits,
    const google::protobuf::Map<std::string, v1::Value>& inputs,
    bool apply_declarations = true);

}  // namespace corosched::machine
