#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/machine/limits.h"
#include "core/machine/validator.h"
#include "corosched/v1/task_definition.pb.h"

// The validator's checks of `work` states, their `retry` and `catch`, and
// the definition's whole-task timeout. Not public; FindDefinitionProblems
// calls them.
namespace corosched::machine::internal {

// The bounds docs/task-definitions.md lists for work states.
inline constexpr size_t kMaxQueueNameBytes = 64;
inline constexpr absl::Duration kMinWorkDuration = absl::Seconds(1);
inline constexpr absl::Duration kMaxWorkDuration = absl::Hours(24 * 365);
inline constexpr int kMaxRetryRules = 16;
inline constexpr int kMaxCatchers = 16;
inline constexpr int kMaxErrorNames = 16;
inline constexpr size_t kMaxErrorNameBytes = 128;
inline constexpr uint32_t kMaxAttempts = 100;
inline constexpr double kMaxBackoffRate = 100;

// Checks `state`'s work (when it is a work state), and refuses retry and
// catch anywhere else; `path` is the state's path (StatePath). Targets
// (`work.next`, `catch[i].next`) are checked with every other target.
void CheckWorkState(const std::string& path, const v1::State& state,
                    const MachineLimits& limits,
                    std::vector<DefinitionProblem>* problems);

// Checks TaskDefinition.timeout: unset or zero (none), or 1s to 365 days.
void CheckTaskTimeout(const v1::TaskDefinition& definition,
                      std::vector<DefinitionProblem>* problems);

}  // namespace corosched::machine::internal
