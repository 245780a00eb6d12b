#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/machine/limits.h"
#include "corosched/v1/task_definition.pb.h"

namespace corosched::machine {

// One thing wrong with a task definition: where, and what to do about it.
struct DefinitionProblem {
  // The field at fault, written the way the JSON is: `states["WORLD"]
  // .yield.next`, `states["A"].choice.when[0].lessThan`, `initial`. Empty for
  // the definition as a whole (its total size).
  std::string path;
  // What is wrong and how to fix it, e.g. `unknown state "ENDD"; known
  // states: END, HELLO, WORLD`.
  std::string message;

  // "path: message".
  std::string ToString() const;
};

// Every problem in `definition`, in a stable order (top-level fields, then
// states by name, then whole-definition checks). Empty means the definition
// may run. Checks, each described in docs/task-definitions.md:
//  - names: definition, states, variables and signals are non-empty, use
//    IsValidName's characters and fit max_name_bytes;
//  - `initial` is set and names a state; every target (`next`, `onTimeout`,
//    `otherwise`, await signals, catchers) names a state;
//  - every state has exactly one suspension; awaits can resume; choices have
//    `otherwise`; actions have a kind and sets have a source;
//  - durations are well-formed, not negative and at most max_duration;
//  - templates parse; literals are finite numbers or fit max_text_bytes;
//  - types: a variable keeps one type across `set` literals and `add`;
//    ordering tests compare numbers; equality compares like with like;
//  - work states, their retry rules and catchers, and the task's timeout
//    keep their bounds (work_validation.h); retry and catch only on work;
//  - some `complete` or `fail` state is reachable from `initial`;
//  - counts and the total serialized size stay within `limits`.
std::vector<DefinitionProblem> FindDefinitionProblems(
    const v1::TaskDefinition& definition, const MachineLimits& limits = {});

// OK when FindDefinitionProblems finds nothing; otherwise INVALID_ARGUMENT
// whose message names the definition and lists the problems, one per line,
// as many as fit in kMaxListedProblemBytes, then how many more there are:
// the message must fit a client's metadata limit however broken the
// definition is.
inline constexpr size_t kMaxListedProblemBytes = 3072;
absl::Status ValidateDefinition(const v1::TaskDefinition& definition,
                                const MachineLimits& limits = {});

// The INVALID_ARGUMENT status for `problems` (OK when empty), for callers
// that kept the structured list.
absl::Status ProblemsToStatus(const v1::TaskDefinition& definition,
                              const std::vector<DefinitionProblem>& problems);

}  // namespace corosched::machine
