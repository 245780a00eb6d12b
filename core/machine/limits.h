#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace corosched::machine {

// Bounds that keep one task definition, or one task, from exhausting the
// daemon. The validator enforces the definition limits before a definition is
// admitted; the interpreter enforces the runtime limits while a task runs
// (refusing a wake, or failing the task with an error that names the limit).
// docs/task-definitions.md lists them with their defaults. The daemon sets
// the per-task runtime totals from its flags, and the errors they raise name
// those flags (--task-max-output-bytes, --task-max-variables-bytes).
//
// A plain value; copy it freely. The defaults are what the daemon uses.
struct MachineLimits {
  // --- Definition (checked by the validator) ---
  // Serialized size of the whole TaskDefinition.
  size_t max_definition_bytes = size_t{256} * 1024;
  int max_states = 256;
  // Including the `emit` shorthand of the state.
  int max_actions_per_state = 64;
  int max_branches_per_choice = 64;
  int max_signals_per_await = 64;
  // Names of definitions, states, variables and signals; and the version.
  size_t max_name_bytes = 128;
  // Emit templates, string literals, results, errors, descriptions.
  size_t max_text_bytes = 4096;
  // Declared inputs (TaskDefinition.inputs).
  int max_inputs = 128;
  // Sleep durations and await timeouts.
  absl::Duration max_duration = absl::Hours(24 * 366);

  // --- Runtime (checked by the interpreter) ---
  // Serialized size of one wake signal's payload.
  size_t max_payload_bytes = size_t{64} * 1024;
  // Signals accepted but not yet consumed; past it a wake is refused.
  int max_mailbox_signals = 1024;
  // Variables one task may hold at once.
  int max_variables = 1024;
  // One variable (a string's bytes; a null, list or object as compact JSON),
  // or one emitted chunk after substitution. Lists and objects also nest at
  // most kMaxValueDepth (value.h) deep.
  size_t max_value_bytes = size_t{64} * 1024;
  // States entered in one poll before the task yields to the run queue.
  int max_steps_per_poll = 64;
  // States entered in a row without truly suspending before the task fails.
  uint64_t max_steps_without_suspending = 10000;
  // Bytes of output one task may emit in all; the emit that would pass it
  // fails the task.
  uint64_t max_output_bytes = uint64_t{8} << 20;
  // Bytes one task's variables may hold together: each name plus its value
  // (a string's bytes, a structured value's JSON bytes, 8 for a number or a
  // bool); the set that would pass it
  // fails the task, the submit whose inputs pass it is refused.
  size_t max_variables_bytes = size_t{1} << 20;
};

}  // namespace corosched::machine
