#include "core/machine/machine.h"

#include <cmath>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "core/machine/definition_paths.h"
#include "core/quote.h"

namespace corosched::machine {
namespace {

using internal::StatePath;

std::string ActionPath(const Program::State& state,
                       const Program::Action& action) {
  if (action.source_index < 0) return StatePath(state.name) + ".emit";
  static constexpr absl::string_view kNames[] = {"emit", "set", "set", "add"};
  return absl::StrCat(StatePath(state.name), ".actions[", action.source_index,
                      "].", kNames[static_cast<int>(action.kind)]);
}

absl::string_view TestName(Program::Test test) {
  static constexpr absl::string_view kNames[] = {
      "equals",      "notEquals",      "lessThan", "lessOrEqual",
      "greaterThan", "greaterOrEqual", "isSet"};
  return kNames[static_cast<int>(test)];
}

// The value `path` names, or nullptr with `error` set; see
// VariablePath::Resolve for `scratch`.
const Value* Lookup(const Variables& variables, const VariablePath& path,
                    Value* scratch, std::string* error) {
  const Value* value = path.Resolve(variables, scratch);
  if (value != nullptr) return value;
  *error = absl::StrCat("variable ", QuoteInput(path.text()),
                        " is not set; set it first or test it with isSet");
  return nullptr;
}

// Sets `*holds` to whether `branch` holds; false with `error` set when the
// comparison cannot be made.
bool Evaluate(const Program::Branch& branch, const Variables& variables,
              bool* holds, std::string* error) {
  using Test = Program::Test;
  Value left_scratch;
  if (branch.test == Test::kIsSet) {
    *holds = (branch.variable.Resolve(variables, &left_scratch) != nullptr) ==
             branch.is_set;
    return true;
  }
  const Value* left = Lookup(variables, branch.variable, &left_scratch, error);
  if (left == nullptr) return false;
  Value right_scratch;
  const Value* right =
      branch.literal.has_value()
          ? &*branch.literal
          : Lookup(variables, branch.operand_variable, &right_scratch, error);
  if (right == nullptr) return false;
  if (branch.test == Test::kEquals || branch.test == Test::kNotEquals) {
    if (TypeName(*left) != TypeName(*right)) {
      *error = absl::StrCat(
          "compares variable ", QuoteInput(branch.variable.text()), ", ",
          WithArticle(TypeName(*left)), ", with ",
          WithArticle(TypeName(*right)), "; compare like with like");
      return false;
    }
    *holds = (*left == *right) == (branch.test == Test::kEquals);
    return true;
  }
  const double* a = std::get_if<double>(left);
  const double* b = std::get_if<double>(right);
  if (a == nullptr || b == nullptr) {
    *error = absl::StrCat(
        TestName(branch.test), " orders numbers, but ",
        a == nullptr ? "variable " + QuoteInput(branch.variable.text())
                     : std::string("its operand"),
        " is ", WithArticle(TypeName(a == nullptr ? *left : *right)));
    return false;
  }
  switch (branch.test) {
    case Test::kLess:
      *holds = *a < *b;
      break;
    case Test::kLessOrEqual:
      *holds = *a <= *b;
      break;
    case Test::kGreater:
      *holds = *a > *b;
      break;
    default:
      *holds = *a >= *b;
      break;
  }
  return true;
}

}  // namespace

bool IsEnded(v1::TaskStatus status) {
  return status == v1::TASK_STATUS_COMPLETED ||
         status == v1::TASK_STATUS_FAILED ||
         status == v1::TASK_STATUS_CANCELLED;
}

bool Machine::ended() const { return IsEnded(status_); }

const std::string& Machine::state_name() const { return current().name; }

namespace {
const std::string& NoText() {
  static const auto* const kEmpty = new std::string();
  return *kEmpty;
}
}  // namespace

const Variables& Machine::variables() const {
  static const auto* const kNone = new Variables();
  return holdings_ != nullptr ? holdings_->variables : *kNone;
}

const std::vector<Machine::AcceptedSignal>& Machine::mailbox() const {
  static const auto* const kNone = new std::vector<AcceptedSignal>();
  return holdings_ != nullptr ? holdings_->mailbox : *kNone;
}

const std::string& Machine::result() const {
  return holdings_ != nullptr ? holdings_->result : NoText();
}

const std::string& Machine::error() const {
  return holdings_ != nullptr ? holdings_->error : NoText();
}

Machine::Holdings& Machine::holdings() {
  if (holdings_ == nullptr) holdings_ = std::make_unique<Holdings>();
  return *holdings_;
}

PollOutcome Machine::Poll(absl::Time now) {
  return Poll(now, [](uint64_t, absl::string_view) {});
}

PollOutcome Machine::Poll(absl::Time now, OutputSink sink) {
  return Poll([now] { return now; }, sink);
}

PollOutcome Machine::Poll(TimeSource source, OutputSink sink) {
  PollOutcome outcome;
  if (ended()) {
    outcome.next = PollOutcome::Next::kEnded;
    return outcome;
  }
  PollTime now(source);
  if ((task_deadline_.has_value() ||
       program_->task_timeout() != absl::ZeroDuration()) &&
      !CheckTaskDeadline(now, &outcome)) {
    return outcome;
  }
  bool go_on = true;
  if (status_ != v1::TASK_STATUS_READY) {
    go_on = Resume(now, &outcome);
  } else if (holdings_ != nullptr && holdings_->work != nullptr) {
    PutOutAttempt(now(), &outcome);  // a retry without back-off
    go_on = false;
  }
  if (go_on) RunSteps(now, sink, &outcome);
  if (task_deadline_.has_value() && !ended() &&
      (!outcome.deadline.has_value() || *task_deadline_ < *outcome.deadline)) {
    outcome.deadline = task_deadline_;
  }
  return outcome;
}

bool Machine::Resume(PollTime& now, PollOutcome* outcome) {
  const Program::State& state = current();
  if (status_ == v1::TASK_STATUS_SLEEPING) {
    if (now() < *deadline_) {
      outcome->deadline = deadline_;
      return false;
    }
    if (state.suspension == Program::Suspension::kWork) {
      PutOutAttempt(now(), outcome);  // the retry's back-off ended
      return false;
    }
    Enter(state.next);
    return true;
  }
  // Nothing to do until CompleteWork or FailWork answers.
  if (status_ == v1::TASK_STATUS_WORKING) return false;
  if (status_ == v1::TASK_STATUS_AWAITING) {
    if (TakeSignal(state, outcome)) return true;
    if (outcome->next == PollOutcome::Next::kEnded) return false;
    if (deadline_.has_value() && now() >= *deadline_) {
      Enter(state.on_timeout);
      return true;
    }
    outcome->deadline = deadline_;
    return false;
  }
  return true;  // READY
}

ABSL_ATTRIBUTE_ALWAYS_INLINE void Machine::RunSteps(PollTime& now,
                                                    OutputSink sink,
                                                    PollOutcome* outcome) {
  const MachineLimits& limits = program_->limits();
  for (;;) {
    if (outcome->steps == limits.max_steps_per_poll) {
      outcome->next = PollOutcome::Next::kRunAgain;
      return;
    }
    if (outcome->steps++ == 0) ++polls_;
    ++steps_total_;
    const Program::State& state = current();
    if (++steps_since_suspend_ > limits.max_steps_without_suspending) {
      Fail(absl::StrCat(StatePath(state.name), ": entered ",
                        steps_since_suspend_,
                        " states in a row without suspending (the limit is ",
                        limits.max_steps_without_suspending,
                        "); a loop of choice states must reach a yield, "
                        "sleep, await, complete or fail"),
           outcome);
      return;
    }
    if (!state.actions.empty() && !RunActions(state, sink, outcome)) return;
    if (!Suspend(state, now, outcome)) return;
  }
}

bool Machine::RunActions(const Program::State& state, OutputSink sink,
                         PollOutcome* outcome) {
  std::string error;
  for (const Program::Action& action : state.actions) {
    if (!RunAction(action, sink, &error)) {
      Fail(absl::StrCat(ActionPath(state, action), ": ", error), outcome);
      return false;
    }
  }
  return true;
}

bool Machine::RunAction(const Program::Action& action, OutputSink sink,
                        std::string* error) {
  switch (action.kind) {
    case Program::ActionKind::kEmit: {
      absl::string_view text = action.text.literal();
      if (!action.text.is_literal()) {
        std::string& scratch = holdings().scratch;
        scratch.clear();
        absl::Status rendered = action.text.Render(variables(), &scratch);
        if (!rendered.ok()) {
          *error = std::string(rendered.message());
          return false;
        }
        if (scratch.size() > program_->limits().max_value_bytes) {
          *error =
              absl::StrCat("renders ", scratch.size(), " bytes; the limit is ",
                           program_->limits().max_value_bytes);
          return false;
        }
        text = scratch;
      }
      const uint64_t max_output = program_->limits().max_output_bytes;
      if (output_bytes_ + text.size() > max_output) {
        *error = absl::StrCat(
            "the task's output would pass its limit of ", max_output,
            " bytes in all (--task-max-output-bytes); it has emitted ",
            output_bytes_);
        return false;
      }
      output_bytes_ += text.size();
      sink(++output_sequence_, text);
      return true;
    }
    case Program::ActionKind::kSetValue:
      return SetVariable(action.variable, action.value, error);
    case Program::ActionKind::kCopy: {
      Value scratch;
      const Value* source =
          Lookup(variables(), action.copy_of, &scratch, error);
      return source != nullptr && SetVariable(action.variable, *source, error);
    }
    case Program::ActionKind::kAdd: {
      Variables& variables = holdings().variables;
      auto it = variables.find(action.variable);
      double* number =
          it == variables.end() ? nullptr : std::get_if<double>(&it->second);
      if (number == nullptr) {
        *error =
            absl::StrCat("variable ", QuoteInput(action.variable),
                         it == variables.end()
                             ? " is not set"
                             : absl::StrCat(" is a ", TypeName(it->second)),
                         "; add needs a number, so set it to one first");
        return false;
      }
      const double sum = *number + action.amount;
      if (!std::isfinite(sum)) {
        *error = absl::StrCat("adding ", action.amount, " to variable ",
                              QuoteInput(action.variable), " (", *number,
                              ") overflows; ", kNotFiniteNumber);
        return false;
      }
      *number = sum;
      return true;
    }
  }
  return true;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE bool Machine::Suspend(const Program::State& state,
                                                   PollTime& now,
                                                   PollOutcome* outcome) {
  using Suspension = Program::Suspension;
  switch (state.suspension) {
    case Suspension::kYield:
      Enter(state.next);
      steps_since_suspend_ = 0;
      outcome->next = PollOutcome::Next::kRunAgain;
      return false;
    case Suspension::kSleep:
      status_ = v1::TASK_STATUS_SLEEPING;
      deadline_ = now() + state.duration;
      steps_since_suspend_ = 0;
      outcome->deadline = deadline_;
      return false;
    case Suspension::kAwait:
      status_ = v1::TASK_STATUS_AWAITING;
      deadline_.reset();
      if (state.has_timeout) deadline_ = now() + state.duration;
      if (TakeSignal(state, outcome)) return true;
      if (outcome->next == PollOutcome::Next::kEnded) return false;
      steps_since_suspend_ = 0;
      outcome->deadline = deadline_;
      return false;
    case Suspension::kChoice: {
      std::string error;
      const int next = Choose(state, &error);
      if (next < 0) {
        Fail(error, outcome);
        return false;
      }
      Enter(next);
      return true;
    }
    case Suspension::kWork:
      StartWork(state, now, outcome);
      return false;
    case Suspension::kComplete:
    case Suspension::kFail:
      Finish(state, outcome);
      return false;
  }
  return false;
}

void Machine::Finish(const Program::State& state, PollOutcome* outcome) {
  const bool complete = state.suspension == Program::Suspension::kComplete;
  std::string text;
  if (state.end_text.is_literal()) {
    text = state.end_text.literal();  // usually empty: no allocation
  } else {
    absl::Status rendered = state.end_text.Render(variables(), &text);
    if (!rendered.ok()) {
      Fail(absl::StrCat(StatePath(state.name),
                        complete ? ".complete.result: " : ".fail.error: ",
                        rendered.message()),
           outcome);
      return;
    }
  }
  status_ = complete ? v1::TASK_STATUS_COMPLETED : v1::TASK_STATUS_FAILED;
  if (!text.empty()) {
    (complete ? holdings().result : holdings().error) = std::move(text);
  }
  outcome->next = PollOutcome::Next::kEnded;
}

int Machine::Choose(const Program::State& state, std::string* error) const {
  for (size_t i = 0; i < state.branches.size(); ++i) {
    const Program::Branch& branch = state.branches[i];
    bool holds = false;
    if (!Evaluate(branch, variables(), &holds, error)) {
      *error = absl::StrCat(StatePath(state.name), ".choice.when[", i, "].",
                            TestName(branch.test), ": ", *error);
      return -1;
    }
    if (holds) return branch.next;
  }
  return state.otherwise;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE void Machine::Enter(int state) {
  state_ = state;
  status_ = v1::TASK_STATUS_READY;
  deadline_.reset();
  if (holdings_ != nullptr) holdings_->work.reset();  // left a work state
}

void Machine::Fail(std::string error, PollOutcome* outcome) {
  status_ = v1::TASK_STATUS_FAILED;
  holdings().error = std::move(error);
  holdings().work.reset();
  deadline_.reset();
  outcome->next = PollOutcome::Next::kEnded;
  outcome->deadline.reset();
}

}  // namespace corosched::machine
