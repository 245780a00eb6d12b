// The mailbox half of Machine: accepting signals, taking them at an await,
// and landing their payloads in variables.

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/machine/definition_paths.h"
#include "core/machine/machine.h"
#include "core/machine/names.h"

namespace corosched::machine {
namespace {

// The state an await moves to on `signal`, or -1 when it does not listen.
int TargetOf(const Program::State& state, absl::string_view signal) {
  auto it = std::lower_bound(state.signals.begin(), state.signals.end(), signal,
                             [](const auto& entry, absl::string_view name) {
                               return entry.first < name;
                             });
  if (it == state.signals.end() || it->first != signal) return -1;
  return it->second;
}

absl::Status CheckSignalName(const std::string& name, size_t max_name_bytes) {
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signal name ", internal::Quote(name), " is not valid; ", kNameRule));
  }
  if (name.size() > max_name_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal name is ", name.size(), " bytes; the limit is ",
                     max_name_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WakeReceipt> Machine::Deliver(v1::Signal signal,
                                             absl::Time now) {
  if (ended()) {
    return WakeReceipt{WakeReceipt::Disposition::kRefusedEnded, 0};
  }
  const MachineLimits& limits = program_->limits();
  absl::Status name = CheckSignalName(signal.name(), limits.max_name_bytes);
  if (!name.ok()) return name;
  const size_t payload_bytes = signal.payload().ByteSizeLong();
  if (payload_bytes > limits.max_payload_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal payload is ", payload_bytes,
                     " bytes; the limit is ", limits.max_payload_bytes));
  }
  PayloadVariables payload;
  absl::Status flat =
      FlattenPayload(signal.payload(), program_->signal_prefix(),
                     limits.max_name_bytes, &payload);
  if (!flat.ok()) return flat;
  if (mailbox_.size() >= static_cast<size_t>(limits.max_mailbox_signals)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the task's mailbox already holds ", mailbox_.size(),
        " signals it has not awaited (the limit); wait until it takes some, "
        "or check that it awaits signal ",
        internal::Quote(signal.name())));
  }
  bool consumed = status_ == v1::TASK_STATUS_AWAITING &&
                  TargetOf(current(), signal.name()) >= 0 &&
                  (!deadline_.has_value() || now <= *deadline_);
  for (const PendingSignal& pending : mailbox_) {
    if (!consumed) break;
    // An earlier signal this await listens for is taken first.
    if (TargetOf(current(), pending.signal.name()) >= 0) consumed = false;
  }
  mailbox_.push_back(
      {std::move(signal), ++signal_sequence_, now, std::move(payload)});
  return WakeReceipt{consumed ? WakeReceipt::Disposition::kConsumed
                              : WakeReceipt::Disposition::kBuffered,
                     signal_sequence_};
}

bool Machine::TakeSignal(const Program::State& state, PollOutcome* outcome) {
  for (auto it = mailbox_.begin(); it != mailbox_.end(); ++it) {
    // Arrival order: once one arrived after the deadline, all later did too.
    if (deadline_.has_value() && it->received_at > *deadline_) break;
    const int target = TargetOf(state, it->signal.name());
    if (target < 0) continue;
    PendingSignal taken = std::move(*it);
    mailbox_.erase(it);
    const std::string& prefix = program_->signal_prefix();
    if (!prefix.empty()) {
      absl::erase_if(variables_, [&prefix](const auto& entry) {
        return absl::StartsWith(entry.first, prefix);
      });
    }
    std::string error;
    for (auto& [name, value] : taken.payload) {
      if (!SetVariable(name, std::move(value), &error)) {
        Fail(absl::StrCat(internal::StatePath(state.name), ".await: signal ",
                          internal::Quote(taken.signal.name()), " (#",
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
  if (const auto* text = std::get_if<std::string>(&value);
      text != nullptr && text->size() > limits.max_value_bytes) {
    *error = absl::StrCat("a ", text->size(), "-byte string for variable ",
                          internal::Quote(name), "; the limit is ",
                          limits.max_value_bytes);
    return false;
  }
  auto it = variables_.find(name);
  if (it != variables_.end()) {
    it->second = std::move(value);
    return true;
  }
  if (variables_.size() >= static_cast<size_t>(limits.max_variables)) {
    *error = absl::StrCat("setting ", internal::Quote(name), " would exceed ",
                          limits.max_variables, " variables, the limit");
    return false;
  }
  variables_.emplace(name, std::move(value));
  return true;
}

}  // namespace corosched::machine
