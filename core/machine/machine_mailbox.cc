// The mailbox half of Machine: accepting signals, taking them at an await,
// and landing their payloads in variables.

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/machine/definition_paths.h"
#include "core/machine/machine.h"
#include "core/machine/names.h"
#include "core/quote.h"

namespace corosched::machine {
namespace {

absl::Status CheckSignalName(const std::string& name, size_t max_name_bytes) {
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signal name ", QuoteInput(name), " is not valid; ", kNameRule));
  }
  if (name.size() > max_name_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal name is ", name.size(), " bytes; the limit is ",
                     max_name_bytes));
  }
  return absl::OkStatus();
}

// A variable's share of max_variables_bytes; `value_bytes` is
// ValueBytes(value) when known.
size_t VariableBytes(const std::string& name, const Value& value,
                     std::optional<size_t> value_bytes = std::nullopt) {
  if (std::holds_alternative<double>(value) ||
      std::holds_alternative<bool>(value)) {
    return name.size() + sizeof(double);
  }
  return name.size() + value_bytes.value_or(ValueBytes(value));
}

}  // namespace

absl::Status MailboxFullError(size_t pending, absl::string_view signal) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "the task's mailbox already holds ", pending,
      " signals it has not awaited (the limit); wait until it takes some, "
      "or check that it awaits signal ",
      QuoteInput(signal)));
}

absl::StatusOr<PayloadVariables> Machine::CheckSignal(
    const Program& program, const v1::Signal& signal) {
  const MachineLimits& limits = program.limits();
  absl::Status name = CheckSignalName(signal.name(), limits.max_name_bytes);
  if (!name.ok()) return name;
  const size_t payload_bytes = signal.payload().ByteSizeLong();
  if (payload_bytes > limits.max_payload_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal payload is ", payload_bytes,
                     " bytes; the limit is ", limits.max_payload_bytes));
  }
  PayloadVariables payload;
  absl::Status landed = LandPayload(signal.payload(), program.signal_prefix(),
                                    limits.max_name_bytes, &payload);
  if (!landed.ok()) return landed;
  return payload;
}

absl::StatusOr<WakeReceipt> Machine::Deliver(v1::Signal signal,
                                             absl::Time now) {
  if (ended()) {
    return WakeReceipt{WakeReceipt::Disposition::kRefusedEnded, 0,
                       absl::Time()};
  }
  absl::StatusOr<PayloadVariables> payload = CheckSignal(*program_, signal);
  if (!payload.ok()) return payload.status();
  const int max_mailbox = program_->limits().max_mailbox_signals;
  if (mailbox().size() >= static_cast<size_t>(max_mailbox)) {
    return MailboxFullError(mailbox().size(), signal.name());
  }
  const WakeReceipt::Disposition disposition =
      SignalDisposition(signal.name(), now, /*undelivered=*/{});
  const uint64_t sequence = signal_sequence_ + 1;
  Accept({std::move(signal), sequence, now, *std::move(payload)});
  return WakeReceipt{disposition, sequence, now};
}

void Machine::Accept(AcceptedSignal signal) {
  signal_sequence_ = signal.sequence;
  holdings().mailbox.push_back(std::move(signal));
}

WakeReceipt::Disposition Machine::SignalDisposition(
    absl::string_view signal, absl::Time now,
    const std::vector<AcceptedSignal>& undelivered) const {
  constexpr auto kBuffered = WakeReceipt::Disposition::kBuffered;
  if (status_ != v1::TASK_STATUS_AWAITING) return kBuffered;
  const Program::State& await = current();
  if (await.SignalTarget(signal) < 0) return kBuffered;
  if (deadline_.has_value() && now > *deadline_) return kBuffered;
  for (const std::vector<AcceptedSignal>* earlier :
       {&mailbox(), &undelivered}) {
    for (const AcceptedSignal& pending : *earlier) {
      if (await.SignalTarget(pending.signal.name()) >= 0) return kBuffered;
    }
  }
  return WakeReceipt::Disposition::kConsumed;
}

bool Machine::TakeSignal(const Program::State& state, PollOutcome* outcome) {
  if (holdings_ == nullptr) return false;  // no signals
  std::vector<AcceptedSignal>& mailbox = holdings_->mailbox;
  for (auto it = mailbox.begin(); it != mailbox.end(); ++it) {
    // Arrival order: once one arrived after the deadline, all later did too.
    if (deadline_.has_value() && it->received_at > *deadline_) break;
    const int target = state.SignalTarget(it->signal.name());
    if (target < 0) continue;
    AcceptedSignal taken = std::move(*it);
    mailbox.erase(it);
    const std::string& prefix = program_->signal_prefix();
    if (!prefix.empty()) {
      absl::erase_if(holdings_->variables, [&prefix](const auto& entry) {
        return absl::StartsWith(entry.first, prefix);
      });
    }
    std::string error;
    for (auto& [name, value] : taken.payload) {
      if (!SetVariable(name, std::move(value), &error)) {
        Fail(absl::StrCat(internal::StatePath(state.name), ".await: signal ",
                          QuoteInput(taken.signal.name()), " (#",
                          taken.sequence, "): ", error),
             outcome);
        return false;
      }
    }
    steps_since_suspend_ = 0;
    Enter(target);
    return true;
  }
  return false;
}

bool Machine::SetVariable(const std::string& name, Value value,
                          std::string* error) {
  const MachineLimits& limits = program_->limits();
  const size_t value_bytes = ValueBytes(value);
  if (value_bytes > limits.max_value_bytes) {
    *error = absl::StrCat("a ", value_bytes, "-byte ",
                          std::holds_alternative<std::string>(value)
                              ? "string"
                              : "value (as JSON)",
                          " for variable ", QuoteInput(name), "; the limit is ",
                          limits.max_value_bytes);
    return false;
  }
  Holdings& held = holdings();
  auto it = held.variables.find(name);
  const size_t replaced =
      it == held.variables.end() ? 0 : VariableBytes(name, it->second);
  const size_t bytes =
      held.variables_bytes - replaced + VariableBytes(name, value, value_bytes);
  if (bytes > limits.max_variables_bytes) {
    *error = absl::StrCat(
        "setting ", QuoteInput(name), " would bring the task's variables to ",
        bytes, " bytes, past the limit of ", limits.max_variables_bytes,
        " (--task-max-variables-bytes)");
    return false;
  }
  if (it != held.variables.end()) {
    it->second = std::move(value);
  } else if (held.variables.size() >=
             static_cast<size_t>(limits.max_variables)) {
    *error = absl::StrCat("setting ", QuoteInput(name), " would exceed ",
                          limits.max_variables, " variables, the limit");
    return false;
  } else {
    held.variables.emplace(name, std::move(value));
  }
  held.variables_bytes = bytes;
  return true;
}

}  // namespace corosched::machine
