#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/machine/limits.h"
#include "core/machine/text_template.h"
#include "core/machine/value.h"
#include "core/machine/variable_path.h"
#include "corosched/v1/task_definition.pb.h"

namespace corosched::machine {

// A task definition that passed validation, compiled for the interpreter:
// states are numbered, targets resolved, templates parsed. Compile once per
// registered definition and share it among every task that runs it.
//
// Immutable after Compile; safe to use from any number of threads.
class Program {
 public:
  // The compiled form of the language, read by Machine. Indices are into
  // states(); every index is valid because Compile validated the definition.
  enum class ActionKind { kEmit, kSetValue, kCopy, kAdd };
  struct Action {
    ActionKind kind;
    // Index in State.actions; -1 for the state's `emit` shorthand.
    int source_index;
    TextTemplate text;     // kEmit
    std::string variable;  // kSetValue, kCopy, kAdd
    Value value;           // kSetValue
    VariablePath copy_of;  // kCopy
    double amount = 0;     // kAdd
  };
  enum class Test {
    kEquals,
    kNotEquals,
    kLess,
    kLessOrEqual,
    kGreater,
    kGreaterOrEqual,
    kIsSet,
  };
  struct Branch {
    VariablePath variable;
    Test test;
    bool is_set = false;            // kIsSet
    std::optional<Value> literal;   // a literal operand, or
    VariablePath operand_variable;  // a variable operand
    int next = -1;
  };
  enum class Suspension {
    kYield,
    kSleep,
    kAwait,
    kChoice,
    kComplete,
    kFail,
    kWork
  };
  // A `work` state's item, with its durations resolved (zero: unset).
  struct Work {
    std::string queue;
    // The input as written; its strings are templates, rendered on entry.
    google::protobuf::Value input;
    absl::Duration timeout;
    absl::Duration heartbeat;
    absl::Duration schedule_timeout;
    std::string result_variable;  // empty: the result is dropped
  };
  // A RetryRule with its defaults applied.
  struct Retry {
    std::vector<std::string> errors;  // "*" matches every error
    uint32_t max_attempts = 3;
    absl::Duration interval = absl::Seconds(1);
    double backoff_rate = 2;
    std::optional<absl::Duration> max_interval;
    bool full_jitter = false;
  };
  struct Catch {
    std::vector<std::string> errors;  // "*" matches every error
    int next = -1;
    std::string error_variable;  // empty: the error is dropped
  };
  struct State {
    // Read by every step, so first.
    Suspension suspension;
    int next = -1;  // kYield, kSleep
    std::vector<Action> actions;
    absl::Duration duration;   // kSleep; kAwait's timeout
    bool has_timeout = false;  // kAwait
    int on_timeout = -1;       // kAwait with a timeout
    // kAwait: signal name -> state, sorted by name.
    std::vector<std::pair<std::string, int>> signals;
    std::vector<Branch> branches;  // kChoice
    int otherwise = -1;            // kChoice
    TextTemplate end_text;         // kComplete result, kFail error
    // kWork: the item (next is `next`), its retry rules and catchers in
    // definition order.
    std::unique_ptr<const Work> work;
    std::vector<Retry> retry;
    std::vector<Catch> catchers;
    std::string name;

    // kAwait: the state `signal` leads to, or -1 when it is not awaited.
    int SignalTarget(absl::string_view signal) const;
  };

  // Validates `definition` (see FindDefinitionProblems) and compiles it.
  // INVALID_ARGUMENT listing every problem when it is not valid.
  static absl::StatusOr<std::shared_ptr<const Program>> Compile(
      v1::TaskDefinition definition, const MachineLimits& limits = {});

  const v1::TaskDefinition& definition() const { return definition_; }
  const MachineLimits& limits() const { return limits_; }
  const std::string& signal_prefix() const { return signal_prefix_; }
  int initial_state() const { return initial_; }
  // TaskDefinition.timeout; zero when the task has none.
  absl::Duration task_timeout() const { return task_timeout_; }
  int state_count() const { return static_cast<int>(states_.size()); }
  const State& state(int index) const { return states_[index]; }
  // The index of the state called `name`, if there is one.
  std::optional<int> FindState(absl::string_view name) const;
  // Every signal name some await of the program listens for, sorted, each
  // once: what a signal for this program may be called.
  const std::vector<std::string>& awaited_signals() const {
    return awaited_signals_;
  }
  // True when some await listens for `signal`.
  bool AwaitsSignal(absl::string_view signal) const;

 private:
  Program() = default;

  v1::TaskDefinition definition_;
  MachineLimits limits_;
  std::string signal_prefix_;
  int initial_ = 0;
  absl::Duration task_timeout_;
  std::vector<State> states_;
  absl::flat_hash_map<std::string, int> index_;
  std::vector<std::string> awaited_signals_;
};

}  // namespace corosched::machine
