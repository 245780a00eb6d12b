#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/machine/validator.h"
#include "corosched/v1/task_definition.pb.h"

// Whole-definition checks of the validator (graph and types), and small
// accessors over Branch shared with Program. Not public.
namespace corosched::machine::internal {

// Adds a problem at `initial` when no `complete` or `fail` state can be
// reached from the initial state. Does nothing when `initial` is unknown
// (the field check reports that).
void CheckReachableEnd(const v1::TaskDefinition& definition,
                       std::vector<DefinitionProblem>* problems);

// Infers variable types from `set` literals and `add`, and adds a problem
// for a variable given two types, and for each choice test that compares
// unlike types or orders anything but numbers.
void CheckVariableTypes(const v1::TaskDefinition& definition,
                        const std::vector<std::string>& sorted_state_names,
                        std::vector<DefinitionProblem>* problems);

// The JSON name of the branch's test ("lessThan"); "" when none is set.
absl::string_view BranchTestJsonName(const v1::Branch& branch);

// The operand of a comparison test. REQUIRES: the test is set and is not
// `isSet`.
const v1::Operand& BranchOperand(const v1::Branch& branch);

// True for lessThan, lessOrEqual, greaterThan and greaterOrEqual.
bool IsOrderingTest(const v1::Branch& branch);

}  // namespace corosched::machine::internal
