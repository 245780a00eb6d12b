#include "core/machine/program.h"

#include <algorithm>

#include "core/machine/definition_analysis.h"
#include "core/machine/definition_paths.h"
#include "core/machine/proto_time.h"
#include "core/machine/validator.h"

namespace corosched::machine {
namespace {

// Every call below runs on a validated definition, so parses and lookups
// cannot fail; value() on their results is an invariant, not input handling.

TextTemplate ParseValid(const std::string& text) {
  return TextTemplate::Parse(text).value();
}

VariablePath PathOf(const std::string& text) {
  return VariablePath::Parse(text).value();
}

absl::Duration DurationOf(const google::protobuf::Duration& proto) {
  return FromProtoDuration(proto).value();
}

Program::Action CompileAction(const v1::Action& source, int index) {
  Program::Action action{};
  action.source_index = index;
  switch (source.kind_case()) {
    case v1::Action::kEmit:
      action.kind = Program::ActionKind::kEmit;
      action.text = ParseValid(source.emit());
      break;
    case v1::Action::kSet:
      action.variable = source.set().variable();
      if (source.set().has_value()) {
        action.kind = Program::ActionKind::kSetValue;
        action.value = ValueFromProto(source.set().value()).value();
      } else {
        action.kind = Program::ActionKind::kCopy;
        action.copy_of = PathOf(source.set().copy_of());
      }
      break;
    default:  // kAdd; validation rejects KIND_NOT_SET
      action.kind = Program::ActionKind::kAdd;
      action.variable = source.add().variable();
      action.amount = source.add().amount();
      break;
  }
  return action;
}

Program::Test TestOf(const v1::Branch& branch) {
  switch (branch.test_case()) {
    case v1::Branch::kEquals:
      return Program::Test::kEquals;
    case v1::Branch::kNotEquals:
      return Program::Test::kNotEquals;
    case v1::Branch::kLessThan:
      return Program::Test::kLess;
    case v1::Branch::kLessOrEqual:
      return Program::Test::kLessOrEqual;
    case v1::Branch::kGreaterThan:
      return Program::Test::kGreater;
    case v1::Branch::kGreaterOrEqual:
      return Program::Test::kGreaterOrEqual;
    default:
      return Program::Test::kIsSet;
  }
}

Program::Branch CompileBranch(const v1::Branch& source, int next) {
  Program::Branch branch;
  branch.variable = PathOf(source.variable());
  branch.test = TestOf(source);
  branch.next = next;
  if (branch.test == Program::Test::kIsSet) {
    branch.is_set = source.is_set();
    return branch;
  }
  const v1::Operand& operand = internal::BranchOperand(source);
  switch (operand.kind_case()) {
    case v1::Operand::kString:
      branch.literal = Value(operand.string());
      break;
    case v1::Operand::kNumber:
      branch.literal = Value(operand.number());
      break;
    case v1::Operand::kBool:
      branch.literal = Value(operand.bool_());
      break;
    case v1::Operand::kJson:
      branch.literal = ValueFromJson(operand.json()).value();
      break;
    default:
      branch.operand_variable = PathOf(operand.variable());
      break;
  }
  return branch;
}

using StateIndex = absl::flat_hash_map<std::string, int>;

void CompileAwait(const v1::Await& source, const StateIndex& index,
                  Program::State* state) {
  state->suspension = Program::Suspension::kAwait;
  for (const auto& [signal, next] : source.signals()) {
    state->signals.emplace_back(signal, index.at(next));
  }
  std::sort(state->signals.begin(), state->signals.end());
  state->has_timeout = source.has_timeout();
  if (state->has_timeout) {
    state->duration = DurationOf(source.timeout());
    state->on_timeout = index.at(source.on_timeout());
  }
}

// A duration field that may be unset: zero then.
absl::Duration OptionalDuration(bool present,
                                const google::protobuf::Duration& proto) {
  return present ? DurationOf(proto) : absl::ZeroDuration();
}

void CompileWork(const v1::State& source, const StateIndex& index,
                 Program::State* state) {
  const v1::Work& work = source.work();
  state->suspension = Program::Suspension::kWork;
  state->next = index.at(work.next());
  auto compiled = std::make_unique<Program::Work>();
  compiled->queue = work.queue();
  compiled->input = work.input();
  if (!work.has_input()) compiled->input.set_null_value({});
  compiled->timeout = OptionalDuration(work.has_timeout(), work.timeout());
  compiled->heartbeat =
      OptionalDuration(work.has_heartbeat(), work.heartbeat());
  compiled->schedule_timeout =
      OptionalDuration(work.has_schedule_timeout(), work.schedule_timeout());
  compiled->result_variable = work.result_variable();
  state->work = std::move(compiled);
  for (const v1::RetryRule& rule : source.retry()) {
    Program::Retry retry;
    retry.errors.assign(rule.errors().begin(), rule.errors().end());
    if (rule.max_attempts() != 0) retry.max_attempts = rule.max_attempts();
    if (rule.has_interval()) retry.interval = DurationOf(rule.interval());
    if (rule.backoff_rate() != 0) retry.backoff_rate = rule.backoff_rate();
    if (rule.has_max_interval()) {
      retry.max_interval = DurationOf(rule.max_interval());
    }
    retry.full_jitter = rule.jitter() == v1::JITTER_FULL;
    state->retry.push_back(std::move(retry));
  }
  for (const v1::Catcher& catcher : source.catch_()) {
    state->catchers.push_back(
        {{catcher.errors().begin(), catcher.errors().end()},
         index.at(catcher.next()),
         catcher.error_variable()});
  }
}

void CompileSuspension(const v1::State& source, const StateIndex& index,
                       Program::State* state) {
  using Suspension = Program::Suspension;
  switch (source.suspension_case()) {
    case v1::State::kYield:
      state->suspension = Suspension::kYield;
      state->next = index.at(source.yield().next());
      break;
    case v1::State::kSleep:
      state->suspension = Suspension::kSleep;
      state->next = index.at(source.sleep().next());
      state->duration = DurationOf(source.sleep().duration());
      break;
    case v1::State::kAwait:
      CompileAwait(source.await(), index, state);
      break;
    case v1::State::kChoice:
      state->suspension = Suspension::kChoice;
      for (const v1::Branch& branch : source.choice().when()) {
        state->branches.push_back(
            CompileBranch(branch, index.at(branch.next())));
      }
      state->otherwise = index.at(source.choice().otherwise());
      break;
    case v1::State::kComplete:
      state->suspension = Suspension::kComplete;
      state->end_text = ParseValid(source.complete().result());
      break;
    case v1::State::kWork:
      CompileWork(source, index, state);
      break;
    default:  // kFail; validation rejects SUSPENSION_NOT_SET
      state->suspension = Suspension::kFail;
      state->end_text = ParseValid(source.fail().error());
      break;
  }
}

Program::State CompileState(const std::string& name, const v1::State& source,
                            const StateIndex& index) {
  Program::State state;
  state.name = name;
  if (!source.emit().empty()) {
    v1::Action emit;
    emit.set_emit(source.emit());
    state.actions.push_back(CompileAction(emit, -1));
  }
  for (int i = 0; i < source.actions_size(); ++i) {
    state.actions.push_back(CompileAction(source.actions(i), i));
  }
  CompileSuspension(source, index, &state);
  return state;
}

// The names the awaits of `states` listen for, sorted, each once.
std::vector<std::string> AwaitedSignals(
    const std::vector<Program::State>& states) {
  std::vector<std::string> names;
  for (const Program::State& state : states) {
    for (const auto& [signal, target] : state.signals) names.push_back(signal);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace

int Program::State::SignalTarget(absl::string_view signal) const {
  auto it = std::lower_bound(signals.begin(), signals.end(), signal,
                             [](const auto& entry, absl::string_view wanted) {
                               return entry.first < wanted;
                             });
  if (it == signals.end() || it->first != signal) return -1;
  return it->second;
}

std::optional<int> Program::FindState(absl::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

bool Program::AwaitsSignal(absl::string_view signal) const {
  return std::binary_search(awaited_signals_.begin(), awaited_signals_.end(),
                            signal);
}

absl::StatusOr<std::shared_ptr<const Program>> Program::Compile(
    v1::TaskDefinition definition, const MachineLimits& limits) {
  absl::Status valid = ValidateDefinition(definition, limits);
  if (!valid.ok()) return valid;
  std::shared_ptr<Program> program(new Program());
  program->limits_ = limits;
  program->signal_prefix_ = definition.has_signal_prefix()
                                ? definition.signal_prefix()
                                : std::string("signal.");
  const std::vector<std::string> names = internal::SortedStateNames(definition);
  for (size_t i = 0; i < names.size(); ++i) {
    program->index_.emplace(names[i], static_cast<int>(i));
  }
  for (const std::string& name : names) {
    program->states_.push_back(
        CompileState(name, definition.states().at(name), program->index_));
  }
  program->awaited_signals_ = AwaitedSignals(program->states_);
  program->initial_ = program->index_.at(definition.initial());
  if (definition.has_timeout()) {
    program->task_timeout_ = DurationOf(definition.timeout());
  }
  program->definition_ = std::move(definition);
  return std::shared_ptr<const Program>(std::move(program));
}

}  // namespace corosched::machine
