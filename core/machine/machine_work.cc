// The work half of Machine: entering a work state, the worker's answers,
// retry back-off and catch, and the whole-task timeout.

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/machine/definition_paths.h"
#include "core/machine/machine.h"
#include "core/machine/proto_time.h"
#include "core/machine/work_validation.h"
#include "core/quote.h"

namespace corosched::machine {
namespace {

using internal::StatePath;

// SplitMix64's finaliser: a well-mixed 64-bit function of `x`.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

bool Covers(const std::vector<std::string>& errors, absl::string_view error) {
  return std::any_of(errors.begin(), errors.end(), [&](const std::string& e) {
    return e == "*" || e == error;
  });
}

// Renders the strings in `source` as templates into `out`: a string that is
// exactly one `${path}` becomes the value whole. False with `error` set when
// a path is not set.
bool RenderInput(const google::protobuf::Value& source,
                 const Variables& variables, google::protobuf::Value* out,
                 std::string* error) {
  switch (source.kind_case()) {
    case google::protobuf::Value::kStringValue: {
      const std::string& text = source.string_value();
      // Validated: it parses.
      const TextTemplate parsed = TextTemplate::Parse(text).value();
      if (parsed.paths().size() == 1 &&
          text == absl::StrCat("${", parsed.paths()[0].text(), "}")) {
        Value scratch;
        const Value* value = parsed.paths()[0].Resolve(variables, &scratch);
        if (value == nullptr) {
          *error =
              absl::StrCat("variable ", QuoteInput(parsed.paths()[0].text()),
                           " is not set; set it first");
          return false;
        }
        *out = ValueToJson(*value);
        return true;
      }
      absl::Status rendered =
          parsed.Render(variables, out->mutable_string_value());
      if (!rendered.ok()) *error = std::string(rendered.message());
      return rendered.ok();
    }
    case google::protobuf::Value::kListValue: {
      auto* list = out->mutable_list_value();
      for (const google::protobuf::Value& item : source.list_value().values()) {
        if (!RenderInput(item, variables, list->add_values(), error)) {
          return false;
        }
      }
      return true;
    }
    case google::protobuf::Value::kStructValue: {
      auto* fields = out->mutable_struct_value()->mutable_fields();
      for (const auto& [key, field] : source.struct_value().fields()) {
        if (!RenderInput(field, variables, &(*fields)[key], error)) {
          return false;
        }
      }
      return true;
    }
    default:
      *out = source;
      return true;
  }
}

}  // namespace

std::optional<WorkOrder> Machine::work_order() const {
  const v1::WorkAttempt* attempt = work();
  if (status_ != v1::TASK_STATUS_WORKING || attempt == nullptr) {
    return std::nullopt;
  }
  const Program::Work& spec = *current().work;
  WorkOrder order;
  order.queue = attempt->queue();
  order.attempt = attempt->attempt();
  order.input = attempt->input();
  order.timeout = spec.timeout;
  order.heartbeat = spec.heartbeat;
  order.schedule_timeout = spec.schedule_timeout;
  order.scheduled_at = FromProtoTimestamp(attempt->scheduled_at())
                           .value_or(absl::InfinitePast());
  return order;
}

const v1::WorkAttempt* Machine::work() const {
  if (ended() || holdings_ == nullptr) return nullptr;
  return holdings_->work.get();
}

void Machine::StartWork(const Program::State& state, PollTime& now,
                        PollOutcome* outcome) {
  auto attempt = std::make_unique<v1::WorkAttempt>();
  std::string error;
  if (!RenderInput(state.work->input, variables(), attempt->mutable_input(),
                   &error)) {
    Fail(absl::StrCat(StatePath(state.name), ".work.input: ", error), outcome);
    return;
  }
  absl::StatusOr<Value> input = ValueFromJson(attempt->input());
  if (!input.ok() || ValueBytes(*input) > program_->limits().max_value_bytes) {
    Fail(absl::StrCat(StatePath(state.name), ".work.input: ",
                      input.ok()
                          ? absl::StrCat("renders ", ValueBytes(*input),
                                         " bytes as JSON; the limit is ",
                                         program_->limits().max_value_bytes)
                          : std::string(input.status().message())),
         outcome);
    return;
  }
  attempt->set_queue(state.work->queue);
  holdings().work = std::move(attempt);
  steps_since_suspend_ = 0;  // a work state truly suspends
  PutOutAttempt(now(), outcome);
}

void Machine::PutOutAttempt(absl::Time now, PollOutcome* outcome) {
  v1::WorkAttempt& attempt = *holdings_->work;
  attempt.set_attempt(attempt.attempt() + 1);
  *attempt.mutable_scheduled_at() = ToProtoTimestamp(now);
  attempt.clear_lease();  // the daemon writes the new attempt's
  status_ = v1::TASK_STATUS_WORKING;
  deadline_.reset();
  outcome->next = PollOutcome::Next::kWork;
  outcome->deadline.reset();
}

bool Machine::CheckTaskDeadline(PollTime& now, PollOutcome* outcome) {
  if (!task_deadline_.has_value()) {
    task_deadline_ = now() + program_->task_timeout();  // the first poll
    return true;
  }
  if (now() < *task_deadline_) return true;
  Fail(absl::StrCat("timeout: the task's timeout of ",
                    absl::FormatDuration(program_->task_timeout()),
                    " passed (in state ", current().name, ")"),
       outcome);
  return false;
}

absl::Status Machine::CheckAnswerable(uint32_t attempt) const {
  const v1::WorkAttempt* current_attempt = work();
  if (status_ == v1::TASK_STATUS_WORKING && current_attempt != nullptr &&
      current_attempt->attempt() == attempt) {
    return absl::OkStatus();
  }
  if (status_ != v1::TASK_STATUS_WORKING) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the task is not working (it is ", v1::TaskStatus_Name(status_),
        " in state ", QuoteInput(current().name), "); the answer is too late"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the task is working on attempt ",
                   current_attempt->attempt(), ", not ", attempt));
}

absl::Status Machine::CheckWorkResult(const Program& program,
                                      const google::protobuf::Value& result) {
  absl::StatusOr<Value> value = ValueFromJson(result);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("work result: ", value.status().message()));
  }
  if (ValueBytes(*value) > program.limits().max_value_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "work result: ", ValueBytes(*value), " bytes as JSON; the limit is ",
        program.limits().max_value_bytes));
  }
  return absl::OkStatus();
}

absl::Status Machine::CompleteWork(uint32_t attempt,
                                   const google::protobuf::Value& result,
                                   absl::Time /*now*/) {
  absl::Status answerable = CheckAnswerable(attempt);
  if (!answerable.ok()) return answerable;
  absl::Status checked = CheckWorkResult(*program_, result);
  if (!checked.ok()) return checked;
  const Program::State& state = current();
  const std::string& variable = state.work->result_variable;
  std::string error;
  // SetVariable changes nothing when it refuses.
  if (!variable.empty() &&
      !SetVariable(variable, ValueFromJson(result).value(), &error)) {
    return absl::InvalidArgumentError(absl::StrCat("work result: ", error));
  }
  Enter(state.next);
  return absl::OkStatus();
}

absl::Duration Machine::Backoff(const Program::Retry& rule,
                                uint32_t attempt) const {
  // Duration * double saturates to an infinity rather than overflowing.
  absl::Duration wait =
      rule.interval * std::pow(rule.backoff_rate, attempt - 1.0);
  if (rule.max_interval.has_value()) wait = std::min(wait, *rule.max_interval);
  wait = std::min(wait, internal::kMaxWorkDuration);
  if (!rule.full_jitter || wait <= absl::ZeroDuration()) return wait;
  // Uniform in [0, wait], fixed by the seed, the state and the attempt, so
  // a restored task draws what the original would.
  const uint64_t draw =
      Mix(Mix(Mix(random_seed_) ^ static_cast<uint64_t>(state_)) ^ attempt);
  const uint64_t span = static_cast<uint64_t>(absl::ToInt64Nanoseconds(wait));
  return absl::Nanoseconds(static_cast<int64_t>(draw % (span + 1)));
}

absl::Status Machine::FailWork(uint32_t attempt, WorkFailure failure,
                               absl::Time now) {
  absl::Status answerable = CheckAnswerable(attempt);
  if (!answerable.ok()) return answerable;
  const Program::State& state = current();
  if (failure.retryable) {
    for (const Program::Retry& rule : state.retry) {
      if (!Covers(rule.errors, failure.error)) continue;
      if (attempt >= rule.max_attempts) break;  // the first match decides
      const absl::Duration wait = Backoff(rule, attempt);
      v1::WorkAttempt& work = *holdings_->work;
      work.set_last_error(std::move(failure.error));
      work.set_last_message(std::move(failure.message));
      work.clear_scheduled_at();
      if (wait <= absl::ZeroDuration()) {
        status_ = v1::TASK_STATUS_READY;
        deadline_.reset();
      } else {
        status_ = v1::TASK_STATUS_SLEEPING;
        deadline_ = now + wait;
      }
      return absl::OkStatus();
    }
  }
  EndWork(state, failure, attempt);
  return absl::OkStatus();
}

void Machine::EndWork(const Program::State& state, const WorkFailure& failure,
                      uint32_t attempt) {
  PollOutcome ignored;
  for (const Program::Catch& catcher : state.catchers) {
    if (!Covers(catcher.errors, failure.error)) continue;
    if (!catcher.error_variable.empty()) {
      google::protobuf::Value caught;
      auto& fields = *caught.mutable_struct_value()->mutable_fields();
      fields["error"].set_string_value(failure.error);
      fields["message"].set_string_value(failure.message);
      absl::StatusOr<Value> value = ValueFromJson(caught);
      std::string error;
      if (!value.ok() ||
          !SetVariable(catcher.error_variable, *std::move(value), &error)) {
        Fail(absl::StrCat(StatePath(state.name), ".catch: ",
                          value.ok() ? error : value.status().message()),
             &ignored);
        return;
      }
    }
    Enter(catcher.next);
    return;
  }
  Fail(absl::StrCat(StatePath(state.name), ": work failed after ", attempt,
                    attempt == 1 ? " attempt: " : " attempts: ", failure.error,
                    failure.message.empty() ? "" : ": ", failure.message),
       &ignored);
}

void Machine::Abort(std::string error) {
  if (ended()) return;
  PollOutcome ignored;
  Fail(std::move(error), &ignored);
}

}  // namespace corosched::machine
