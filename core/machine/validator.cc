#include "core/machine/validator.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/machine/definition_analysis.h"
#include "core/machine/definition_paths.h"
#include "core/machine/inputs.h"
#include "core/machine/names.h"
#include "core/machine/proto_time.h"
#include "core/machine/text_template.h"
#include "core/machine/variable_path.h"
#include "core/machine/work_validation.h"
#include "core/quote.h"

namespace corosched::machine {
namespace {

using internal::StatePath;

// Walks one definition and collects every problem; see FindDefinitionProblems.
class DefinitionChecker {
 public:
  DefinitionChecker(const v1::TaskDefinition& definition,
                    const MachineLimits& limits)
      : definition_(definition),
        limits_(limits),
        state_names_(internal::SortedStateNames(definition)),
        known_states_(internal::JoinStateNames(state_names_)) {}

  std::vector<DefinitionProblem> Run() && {
    CheckTopLevel();
    CheckInputDeclarations(definition_, limits_, &problems_);
    internal::CheckTaskTimeout(definition_, &problems_);
    for (const std::string& name : state_names_) {
      CheckState(name, definition_.states().at(name));
    }
    internal::CheckReachableEnd(definition_, &problems_);
    internal::CheckVariableTypes(definition_, state_names_, &problems_);
    const size_t size = definition_.ByteSizeLong();
    if (size > limits_.max_definition_bytes) {
      Add("", absl::StrCat("the definition is ", size,
                           " bytes serialized; the limit is ",
                           limits_.max_definition_bytes,
                           "; split it or shorten its texts"));
    }
    return std::move(problems_);
  }

 private:
  void Add(std::string path, std::string message) {
    problems_.push_back({std::move(path), std::move(message)});
  }

  void CheckTopLevel() {
    if (definition_.name().empty()) {
      Add("name", absl::StrCat("missing; give the definition a name (",
                               kNameRule, ")"));
    } else {
      CheckName("name", definition_.name(), "definition");
    }
    if (!definition_.version().empty()) {
      CheckName("version", definition_.version(), "version");
    }
    CheckTextSize("description", definition_.description());
    if (definition_.has_signal_prefix() &&
        !definition_.signal_prefix().empty()) {
      CheckName("signalPrefix", definition_.signal_prefix(), "prefix");
    }
    if (state_names_.empty()) {
      Add("states",
          "no states; add at least one, e.g. "
          "\"END\": {\"complete\": {}}");
    } else if (definition_.states_size() > limits_.max_states) {
      Add("states",
          absl::StrCat(definition_.states_size(), " states; the limit is ",
                       limits_.max_states, "; split the definition"));
    }
    CheckTarget("initial", definition_.initial(),
                "the state a new task starts in");
  }

  // `target` must name a state; `role` says what the field is for.
  void CheckTarget(const std::string& path, const std::string& target,
                   absl::string_view role) {
    if (target.empty()) {
      Add(path, absl::StrCat("missing; name ", role,
                             "; known states: ", known_states_));
    } else if (!definition_.states().contains(target)) {
      Add(path, absl::StrCat("unknown state ", QuoteInput(target),
                             "; known states: ", known_states_));
    }
  }

  void CheckName(const std::string& path, const std::string& name,
                 absl::string_view what) {
    if (name.empty()) {
      Add(path, absl::StrCat("empty ", what, " name; ", kNameRule));
    } else if (!IsValidName(name)) {
      Add(path, absl::StrCat(what, " name ", QuoteInput(name),
                             " is not valid; ", kNameRule));
    } else if (name.size() > limits_.max_name_bytes) {
      Add(path, absl::StrCat(what, " name is ", name.size(),
                             " bytes; the limit is ", limits_.max_name_bytes));
    }
  }

  // `text` must be a VariablePath within max_name_bytes.
  void CheckPath(const std::string& path, const std::string& text) {
    if (text.empty()) {
      Add(path, absl::StrCat("empty variable name; ", kNameRule));
      return;
    }
    absl::StatusOr<VariablePath> parsed = VariablePath::Parse(text);
    if (!parsed.ok()) {
      Add(path, absl::StrCat("variable name ", QuoteInput(text),
                             " is not a valid name or path: ",
                             parsed.status().message()));
    } else if (text.size() > limits_.max_name_bytes) {
      Add(path, absl::StrCat("variable path is ", text.size(),
                             " bytes; the limit is ", limits_.max_name_bytes));
    }
  }

  // A structured literal: a value a task can hold, within max_text_bytes.
  void CheckJsonLiteral(const std::string& path,
                        const google::protobuf::Value& json) {
    absl::StatusOr<Value> value = ValueFromJson(json);
    if (!value.ok()) {
      Add(path, std::string(value.status().message()));
    } else if (ValueBytes(*value) > limits_.max_text_bytes) {
      Add(path, absl::StrCat(ValueBytes(*value), " bytes; the limit is ",
                             limits_.max_text_bytes));
    }
  }

  void CheckTextSize(const std::string& path, const std::string& text) {
    if (text.size() > limits_.max_text_bytes) {
      Add(path, absl::StrCat(text.size(), " bytes of text; the limit is ",
                             limits_.max_text_bytes));
    }
  }

  void CheckTemplate(const std::string& path, const std::string& text) {
    CheckTextSize(path, text);
    absl::StatusOr<TextTemplate> parsed = TextTemplate::Parse(text);
    if (!parsed.ok()) Add(path, std::string(parsed.status().message()));
  }

  void CheckNumber(const std::string& path, double number) {
    if (!std::isfinite(number)) {
      Add(path,
          absl::StrCat(kNotFiniteNumber, "; write a plain number such as 1.5"));
    }
  }

  // `present`: whether the field is set at all; `what` names it for people.
  void CheckDuration(const std::string& path, bool present,
                     const google::protobuf::Duration& proto,
                     absl::string_view what) {
    if (!present) {
      Add(path,
          absl::StrCat("missing; write ", what, " as seconds, e.g. \"1.5s\""));
      return;
    }
    absl::StatusOr<absl::Duration> duration = FromProtoDuration(proto);
    if (!duration.ok()) {
      Add(path, std::string(duration.status().message()));
    } else if (*duration < absl::ZeroDuration()) {
      Add(path, absl::StrCat("negative (", absl::FormatDuration(*duration),
                             "); durations must be \"0s\" or more"));
    } else if (*duration > limits_.max_duration) {
      Add(path, absl::StrCat(absl::FormatDuration(*duration),
                             " is longer than the limit of ",
                             absl::FormatDuration(limits_.max_duration)));
    }
  }

  void CheckState(const std::string& name, const v1::State& state) {
    const std::string path = StatePath(name);
    CheckName(path, name, "state");
    if (!state.emit().empty()) CheckTemplate(path + ".emit", state.emit());
    const int actions = state.actions_size() + (state.emit().empty() ? 0 : 1);
    if (actions > limits_.max_actions_per_state) {
      Add(path + ".actions",
          absl::StrCat(actions, " actions (counting emit); the limit is ",
                       limits_.max_actions_per_state,
                       "; move some into a following state"));
    }
    for (int i = 0; i < state.actions_size(); ++i) {
      CheckAction(absl::StrCat(path, ".actions[", i, "]"), state.actions(i));
    }
    CheckSuspension(path, state);
    internal::CheckWorkState(path, state, limits_, &problems_);
    internal::ForEachTarget(
        state, [&](const std::string& field, const std::string& target) {
          CheckTarget(absl::StrCat(path, ".", field), target,
                      "the state to enter next");
        });
  }

  void CheckAction(const std::string& path, const v1::Action& action) {
    switch (action.kind_case()) {
      case v1::Action::kEmit:
        if (action.emit().empty()) {
          Add(path + ".emit", "empty; give it text or remove the action");
        }
        CheckTemplate(path + ".emit", action.emit());
        break;
      case v1::Action::kSet:
        CheckSet(path + ".set", action.set());
        break;
      case v1::Action::kAdd:
        CheckName(path + ".add.variable", action.add().variable(), "variable");
        CheckNumber(path + ".add.amount", action.add().amount());
        break;
      case v1::Action::KIND_NOT_SET:
        Add(path, "empty action; set one of emit, set, add");
        break;
    }
  }

  void CheckSet(const std::string& path, const v1::SetVariable& set) {
    CheckName(path + ".variable", set.variable(), "variable");
    switch (set.source_case()) {
      case v1::SetVariable::kValue:
        CheckValue(path + ".value", set.value());
        break;
      case v1::SetVariable::kCopyOf:
        CheckPath(path + ".copyOf", set.copy_of());
        break;
      case v1::SetVariable::SOURCE_NOT_SET:
        Add(path, "no source; set value (e.g. {\"number\": 0}) or copyOf");
        break;
    }
  }

  void CheckValue(const std::string& path, const v1::Value& value) {
    switch (value.kind_case()) {
      case v1::Value::kString:
        CheckTextSize(path + ".string", value.string());
        break;
      case v1::Value::kNumber:
        CheckNumber(path + ".number", value.number());
        break;
      case v1::Value::kBool:
        break;
      case v1::Value::kJson:
        CheckJsonLiteral(path + ".json", value.json());
        break;
      case v1::Value::KIND_NOT_SET:
        Add(path, "no type; set one of string, number, bool, json");
        break;
    }
  }

  void CheckSuspension(const std::string& path, const v1::State& state) {
    switch (state.suspension_case()) {
      case v1::State::kSleep:
        CheckDuration(path + ".sleep.duration", state.sleep().has_duration(),
                      state.sleep().duration(), "how long to sleep");
        break;
      case v1::State::kAwait:
        CheckAwait(path + ".await", state.await());
        break;
      case v1::State::kChoice:
        CheckChoice(path + ".choice", state.choice());
        break;
      case v1::State::kComplete:
        CheckTemplate(path + ".complete.result", state.complete().result());
        break;
      case v1::State::kFail:
        CheckTemplate(path + ".fail.error", state.fail().error());
        break;
      case v1::State::kYield:
      case v1::State::kWork:  // internal::CheckWorkState
        break;
      case v1::State::SUSPENSION_NOT_SET:
        Add(path,
            "no way to suspend or finish; add one of yield, sleep, "
            "await, choice, work, complete or fail");
        break;
    }
  }

  void CheckAwait(const std::string& path, const v1::Await& await) {
    if (await.signals().empty() && !await.has_timeout()) {
      Add(path,
          "waits forever: no signals and no timeout; list signals, "
          "or add a timeout with onTimeout");
    }
    if (await.signals_size() > limits_.max_signals_per_await) {
      Add(path + ".signals",
          absl::StrCat(await.signals_size(), " signals; the limit is ",
                       limits_.max_signals_per_await));
    }
    for (const auto& [signal, target] : await.signals()) {
      CheckName(absl::StrCat(path, ".signals[", QuoteInput(signal), "]"),
                signal, "signal");
    }
    if (await.has_timeout()) {
      CheckDuration(path + ".timeout", true, await.timeout(), "the timeout");
    } else if (!await.on_timeout().empty()) {
      Add(path + ".onTimeout",
          "set, but there is no timeout; add timeout or remove onTimeout");
    }
  }

  void CheckChoice(const std::string& path, const v1::Choice& choice) {
    if (choice.when_size() > limits_.max_branches_per_choice) {
      Add(path + ".when",
          absl::StrCat(choice.when_size(), " branches; the limit is ",
                       limits_.max_branches_per_choice,
                       "; chain two choice states"));
    }
    for (int i = 0; i < choice.when_size(); ++i) {
      CheckBranch(absl::StrCat(path, ".when[", i, "]"), choice.when(i));
    }
  }

  void CheckBranch(const std::string& path, const v1::Branch& branch) {
    CheckPath(path + ".variable", branch.variable());
    if (branch.test_case() == v1::Branch::TEST_NOT_SET) {
      Add(path,
          "no test; add one of equals, notEquals, lessThan, "
          "lessOrEqual, greaterThan, greaterOrEqual, isSet");
      return;
    }
    if (branch.test_case() == v1::Branch::kIsSet) return;
    const std::string test_path =
        absl::StrCat(path, ".", internal::BranchTestJsonName(branch));
    const v1::Operand& operand = internal::BranchOperand(branch);
    switch (operand.kind_case()) {
      case v1::Operand::kString:
        CheckTextSize(test_path + ".string", operand.string());
        break;
      case v1::Operand::kNumber:
        CheckNumber(test_path + ".number", operand.number());
        break;
      case v1::Operand::kVariable:
        CheckPath(test_path + ".variable", operand.variable());
        break;
      case v1::Operand::kJson:
        CheckJsonLiteral(test_path + ".json", operand.json());
        break;
      case v1::Operand::kBool:
        break;
      case v1::Operand::KIND_NOT_SET:
        Add(test_path,
            "nothing to compare with; set one of string, number, "
            "bool, json, variable");
        break;
    }
  }

  const v1::TaskDefinition& definition_;
  const MachineLimits& limits_;
  const std::vector<std::string> state_names_;
  const std::string known_states_;
  std::vector<DefinitionProblem> problems_;
};

}  // namespace

std::string DefinitionProblem::ToString() const {
  if (path.empty()) return message;
  return absl::StrCat(path, ": ", message);
}

std::vector<DefinitionProblem> FindDefinitionProblems(
    const v1::TaskDefinition& definition, const MachineLimits& limits) {
  return DefinitionChecker(definition, limits).Run();
}

absl::Status ValidateDefinition(const v1::TaskDefinition& definition,
                                const MachineLimits& limits) {
  return ProblemsToStatus(definition,
                          FindDefinitionProblems(definition, limits));
}

absl::Status ProblemsToStatus(const v1::TaskDefinition& definition,
                              const std::vector<DefinitionProblem>& problems) {
  if (problems.empty()) return absl::OkStatus();
  std::string message = absl::StrCat(
      "task definition ", QuoteInput(definition.name()), " has ",
      problems.size(), problems.size() == 1 ? " problem:" : " problems:");
  size_t listed = 0;
  for (; listed < problems.size(); ++listed) {
    std::string line = problems[listed].ToString();
    if (listed > 0 && message.size() + line.size() > kMaxListedProblemBytes) {
      break;
    }
    absl::StrAppend(&message, "\n  ", line);
  }
  if (listed < problems.size()) {
    absl::StrAppend(&message, "\n  ... and ", problems.size() - listed,
                    " more");
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace corosched::machine
