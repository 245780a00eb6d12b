#pragma once

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "corosched/v1/task_definition.pb.h"

// Helpers shared by the validator, its graph and type analysis, and Program.
// Not part of the machine's public surface.
namespace corosched::machine::internal {

// `states["NAME"]`, the path of a state.
std::string StatePath(absl::string_view state);

// The definition's state names, sorted.
std::vector<std::string> SortedStateNames(const v1::TaskDefinition& definition);

// "END, HELLO, WORLD": at most 20 names and about 1 KiB, then "and N more";
// a name that is not valid is quoted with QuoteInput.
std::string JoinStateNames(const std::vector<std::string>& sorted_names);

// Calls `visit(field, target)` for every state name `state` can move to, with
// `field` the path below the state: "yield.next", "sleep.next",
// "await.signals[\"ok\"]", "await.onTimeout", "choice.when[2].next",
// "choice.otherwise", "work.next", "catch[0].next". Skips nothing: empty
// targets are visited too.
void ForEachTarget(
    const v1::State& state,
    absl::FunctionRef<void(const std::string& field, const std::string& target)>
        visit);

}  // namespace corosched::machine::internal
