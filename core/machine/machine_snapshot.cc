// The lifecycle half of Machine: starting a task, snapshotting it, restoring
// it, and cancelling it.

#include <cmath>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/machine/definition_paths.h"
#include "core/machine/inputs.h"
#include "core/machine/machine.h"
#include "core/machine/names.h"
#include "core/machine/proto_time.h"
#include "core/quote.h"

namespace corosched::machine {
namespace {

absl::Status SnapshotError(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("task snapshot does not fit its definition: ", what));
}

// Checks the status, state and deadline of `snapshot` against `program`,
// returning the state's index.
absl::StatusOr<int> CheckPosition(const Program& program,
                                  const v1::TaskSnapshot& snapshot) {
  std::optional<int> state = program.FindState(snapshot.state());
  if (!state.has_value()) {
    return SnapshotError(absl::StrCat("state ", QuoteInput(snapshot.state()),
                                      " is not in definition ",
                                      QuoteInput(program.definition().name())));
  }
  const Program::State& compiled = program.state(*state);
  switch (snapshot.status()) {
    case v1::TASK_STATUS_SLEEPING:
      // A work state sleeps between two attempts.
      if (!(compiled.suspension == Program::Suspension::kSleep ||
            (compiled.suspension == Program::Suspension::kWork &&
             snapshot.has_work())) ||
          !snapshot.has_deadline()) {
        return SnapshotError(absl::StrCat(
            "SLEEPING needs a sleep state and a deadline (or a work state "
            "with its work, between two attempts); state ",
            QuoteInput(compiled.name), " does not fit"));
      }
      break;
    case v1::TASK_STATUS_WORKING:
      if (compiled.suspension != Program::Suspension::kWork ||
          !snapshot.has_work() || snapshot.work().attempt() == 0 ||
          snapshot.has_deadline()) {
        return SnapshotError(absl::StrCat(
            "WORKING needs a work state, its work on an attempt, and no "
            "deadline; state ",
            QuoteInput(compiled.name), " does not fit"));
      }
      break;
    case v1::TASK_STATUS_AWAITING:
      if (compiled.suspension != Program::Suspension::kAwait ||
          snapshot.has_deadline() != compiled.has_timeout) {
        return SnapshotError(absl::StrCat(
            "AWAITING needs an await state, and a deadline exactly when it "
            "has a timeout; state ",
            QuoteInput(compiled.name), " does not fit"));
      }
      break;
    case v1::TASK_STATUS_READY:
    case v1::TASK_STATUS_COMPLETED:
    case v1::TASK_STATUS_FAILED:
    case v1::TASK_STATUS_CANCELLED:
      break;
    default:
      return SnapshotError(
          absl::StrCat("unknown status ", static_cast<int>(snapshot.status())));
  }
  return *state;
}

}  // namespace

Machine::Machine(std::shared_ptr<const Program> program)
    : program_(std::move(program)), state_(program_->initial_state()) {}

Machine Machine::Start(std::shared_ptr<const Program> program) {
  return Machine(std::move(program));
}

absl::StatusOr<Machine> Machine::Start(
    std::shared_ptr<const Program> program,
    const google::protobuf::Map<std::string, v1::Value>& inputs) {
  return StartWith(std::move(program), inputs, /*apply_declarations=*/true);
}

absl::StatusOr<Machine> Machine::Start(
    std::shared_ptr<const Program> program,
    const google::protobuf::Map<std::string, v1::Value>& inputs,
    StartOptions options) {
  absl::StatusOr<Machine> machine =
      StartWith(std::move(program), inputs, /*apply_declarations=*/true);
  if (machine.ok()) machine->random_seed_ = options.random_seed;
  return machine;
}

absl::StatusOr<Machine> Machine::StartWith(
    std::shared_ptr<const Program> program,
    const google::protobuf::Map<std::string, v1::Value>& variables,
    bool apply_declarations) {
  absl::StatusOr<StartVariables> start = ResolveInputs(
      program->definition(), program->limits(), variables, apply_declarations);
  if (!start.ok()) return start.status();
  Machine machine(std::move(program));
  for (auto& [name, value] : *start) {
    std::string error;
    if (!machine.SetVariable(name, std::move(value), &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", QuoteInput(name), ": ", error));
    }
  }
  return machine;
}

absl::StatusOr<Machine> Machine::Restore(std::shared_ptr<const Program> program,
                                         const v1::TaskSnapshot& snapshot) {
  const v1::TaskDefinition& definition = program->definition();
  if (snapshot.definition_name() != definition.name() ||
      snapshot.definition_version() != definition.version()) {
    return SnapshotError(absl::StrCat(
        "it was taken from ", QuoteInput(snapshot.definition_name()),
        " version ", QuoteInput(snapshot.definition_version()), ", not ",
        QuoteInput(definition.name()), " version ",
        QuoteInput(definition.version())));
  }
  absl::StatusOr<int> state = CheckPosition(*program, snapshot);
  if (!state.ok()) return state.status();
  absl::StatusOr<Machine> machine =
      StartWith(std::move(program), snapshot.variables(),
                /*apply_declarations=*/false);
  if (!machine.ok()) return SnapshotError(machine.status().message());
  machine->state_ = *state;
  machine->status_ = snapshot.status();
  const bool waiting = snapshot.status() == v1::TASK_STATUS_SLEEPING ||
                       snapshot.status() == v1::TASK_STATUS_AWAITING;
  if (waiting && snapshot.has_deadline()) {
    absl::StatusOr<absl::Time> deadline =
        FromProtoTimestamp(snapshot.deadline());
    if (!deadline.ok()) return SnapshotError(deadline.status().message());
    machine->deadline_ = *deadline;
  }
  machine->output_sequence_ = snapshot.output_sequence();
  machine->output_bytes_ = snapshot.output_bytes();
  machine->steps_total_ = snapshot.steps().total();
  machine->polls_ = snapshot.steps().polls();
  machine->steps_since_suspend_ = snapshot.steps().since_suspend();
  if (!snapshot.result().empty())
    machine->holdings().result = snapshot.result();
  if (!snapshot.error().empty()) machine->holdings().error = snapshot.error();
  absl::Status mailbox = machine->RestoreMailbox(snapshot);
  if (!mailbox.ok()) return mailbox;
  absl::Status work = machine->RestoreWork(snapshot);
  if (!work.ok()) return work;
  machine->signal_sequence_ = snapshot.signal_sequence();
  return machine;
}

absl::Status Machine::RestoreMailbox(const v1::TaskSnapshot& snapshot) {
  if (snapshot.mailbox_size() > program_->limits().max_mailbox_signals) {
    return SnapshotError(absl::StrCat(
        "the mailbox holds ", snapshot.mailbox_size(),
        " signals; the limit is ", program_->limits().max_mailbox_signals));
  }
  uint64_t last_sequence = 0;
  absl::Time last_received = absl::InfinitePast();
  for (const v1::PendingSignal& pending : snapshot.mailbox()) {
    absl::StatusOr<absl::Time> received =
        FromProtoTimestamp(pending.received_at());
    if (!received.ok()) return SnapshotError(received.status().message());
    if (pending.sequence() <= last_sequence ||
        pending.sequence() > snapshot.signal_sequence() ||
        *received < last_received) {
      return SnapshotError(
          "mailbox sequence numbers and arrival times must increase, and "
          "the numbers not pass signal_sequence");
    }
    absl::StatusOr<PayloadVariables> payload =
        CheckSignal(*program_, pending.signal());
    if (!payload.ok()) return SnapshotError(payload.status().message());
    Accept(
        {pending.signal(), pending.sequence(), *received, *std::move(payload)});
    last_sequence = pending.sequence();
    last_received = *received;
  }
  return absl::OkStatus();
}

absl::Status Machine::RestoreWork(const v1::TaskSnapshot& snapshot) {
  random_seed_ = snapshot.random_seed();
  if (snapshot.has_task_deadline()) {
    absl::StatusOr<absl::Time> deadline =
        FromProtoTimestamp(snapshot.task_deadline());
    if (!deadline.ok()) return SnapshotError(deadline.status().message());
    task_deadline_ = *deadline;
  }
  // Kept only where work() shows it: in a work state, before the end. A
  // lease in it is the daemon's, kept as it is.
  if (snapshot.has_work() && !ended() &&
      current().suspension == Program::Suspension::kWork) {
    holdings().work = std::make_unique<v1::WorkAttempt>(snapshot.work());
  }
  return absl::OkStatus();
}

v1::TaskSnapshot Machine::Snapshot() const {
  v1::TaskSnapshot snapshot;
  snapshot.set_definition_name(program_->definition().name());
  snapshot.set_definition_version(program_->definition().version());
  snapshot.set_status(status_);
  snapshot.set_state(current().name);
  auto& proto_variables = *snapshot.mutable_variables();
  for (const auto& [name, value] : variables()) {
    proto_variables[name] = ValueToProto(value);
  }
  for (const AcceptedSignal& pending : mailbox()) {
    v1::PendingSignal& entry = *snapshot.add_mailbox();
    *entry.mutable_signal() = pending.signal;
    entry.set_sequence(pending.sequence);
    *entry.mutable_received_at() = ToProtoTimestamp(pending.received_at);
  }
  if (deadline_.has_value()) {
    *snapshot.mutable_deadline() = ToProtoTimestamp(*deadline_);
  }
  snapshot.set_output_sequence(output_sequence_);
  snapshot.set_output_bytes(output_bytes_);
  snapshot.set_signal_sequence(signal_sequence_);
  snapshot.mutable_steps()->set_total(steps_total_);
  snapshot.mutable_steps()->set_polls(polls_);
  snapshot.mutable_steps()->set_since_suspend(steps_since_suspend_);
  if (const v1::WorkAttempt* attempt = work(); attempt != nullptr) {
    *snapshot.mutable_work() = *attempt;
  }
  if (task_deadline_.has_value()) {
    *snapshot.mutable_task_deadline() = ToProtoTimestamp(*task_deadline_);
  }
  snapshot.set_random_seed(random_seed_);
  snapshot.set_result(result());
  snapshot.set_error(error());
  return snapshot;
}

void Machine::Cancel(std::string reason) {
  if (ended()) return;
  status_ = v1::TASK_STATUS_CANCELLED;
  holdings().error = std::move(reason);
  holdings().work.reset();  // the daemon cancels the item
  deadline_.reset();
}

}  // namespace corosched::machine
