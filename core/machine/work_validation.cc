#include "core/machine/work_validation.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/machine/names.h"
#include "core/machine/proto_time.h"
#include "core/machine/text_template.h"
#include "core/machine/value.h"
#include "core/quote.h"

namespace corosched::machine::internal {
namespace {

bool IsQueueName(absl::string_view name) {
  // The same characters as every other name.
  return !name.empty() && name.size() <= kMaxQueueNameBytes &&
         IsValidName(name);
}

// Printable ASCII, space included: what an error name may hold.
bool IsErrorName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxErrorNameBytes) return false;
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

class WorkChecker {
 public:
  WorkChecker(const MachineLimits& limits,
              std::vector<DefinitionProblem>* problems)
      : limits_(limits), problems_(problems) {}

  void Check(const std::string& path, const v1::State& state) {
    if (state.has_work()) {
      CheckWork(path + ".work", state.work());
    } else if (state.retry_size() > 0 || state.catch__size() > 0) {
      Add(path + (state.retry_size() > 0 ? ".retry" : ".catch"),
          "only a work state may retry or catch; remove it, or make the "
          "state a work state");
    }
    if (state.retry_size() > kMaxRetryRules) {
      Add(path + ".retry",
          absl::StrCat(state.retry_size(), " rules; the limit is ",
                       kMaxRetryRules));
    }
    for (int i = 0; i < state.retry_size(); ++i) {
      CheckRetry(absl::StrCat(path, ".retry[", i, "]"), state.retry(i));
    }
    if (state.catch__size() > kMaxCatchers) {
      Add(path + ".catch",
          absl::StrCat(state.catch__size(), " catchers; the limit is ",
                       kMaxCatchers));
    }
    for (int i = 0; i < state.catch__size(); ++i) {
      const v1::Catcher& catcher = state.catch_(i);
      const std::string at = absl::StrCat(path, ".catch[", i, "]");
      CheckErrors(at + ".errors", catcher.errors());
      CheckVariable(at + ".errorVariable", catcher.error_variable());
    }
  }

  // A duration from `min` to kMaxWorkDuration when `present`.
  void CheckDuration(const std::string& path, bool present,
                     const google::protobuf::Duration& proto,
                     absl::Duration min) {
    if (!present) return;
    absl::StatusOr<absl::Duration> duration = FromProtoDuration(proto);
    if (!duration.ok()) {
      Add(path, std::string(duration.status().message()));
    } else if (*duration < min || *duration > kMaxWorkDuration) {
      Add(path, absl::StrCat(absl::FormatDuration(*duration),
                             " is out of bounds; write from ",
                             absl::FormatDuration(min), " to 365 days (\"",
                             absl::ToInt64Seconds(kMaxWorkDuration), "s\")"));
    }
  }

 private:
  void Add(std::string path, std::string message) {
    problems_->push_back({std::move(path), std::move(message)});
  }

  void CheckWork(const std::string& path, const v1::Work& work) {
    if (!IsQueueName(work.queue())) {
      Add(path + ".queue",
          absl::StrCat("queue name ", QuoteInput(work.queue()),
                       " is not valid; give 1 to ", kMaxQueueNameBytes,
                       " bytes and ", kNameRule));
    }
    if (!work.has_timeout() && !work.has_heartbeat()) {
      Add(path,
          "neither timeout nor heartbeat; set at least one, or a worker "
          "that died would hold the item for ever");
    }
    CheckDuration(path + ".timeout", work.has_timeout(), work.timeout(),
                  kMinWorkDuration);
    CheckDuration(path + ".heartbeat", work.has_heartbeat(), work.heartbeat(),
                  kMinWorkDuration);
    CheckDuration(path + ".scheduleTimeout", work.has_schedule_timeout(),
                  work.schedule_timeout(), kMinWorkDuration);
    CheckVariable(path + ".resultVariable", work.result_variable());
    if (work.has_input()) CheckInput(path + ".input", work.input());
  }

  // Any JSON value a task can hold, within max_value_bytes, whose strings
  // parse as templates.
  void CheckInput(const std::string& path,
                  const google::protobuf::Value& input) {
    absl::StatusOr<Value> value = ValueFromJson(input);
    if (!value.ok()) {
      Add(path, std::string(value.status().message()));
      return;
    }
    if (ValueBytes(*value) > limits_.max_value_bytes) {
      Add(path,
          absl::StrCat(ValueBytes(*value), " bytes as JSON; the limit is ",
                       limits_.max_value_bytes));
    }
    CheckTemplates(path, input);
  }

  void CheckTemplates(const std::string& path,
                      const google::protobuf::Value& json) {
    switch (json.kind_case()) {
      case google::protobuf::Value::kStringValue: {
        absl::StatusOr<TextTemplate> parsed =
            TextTemplate::Parse(json.string_value());
        if (!parsed.ok()) Add(path, std::string(parsed.status().message()));
        break;
      }
      case google::protobuf::Value::kListValue:
        for (int i = 0; i < json.list_value().values_size(); ++i) {
          CheckTemplates(absl::StrCat(path, "[", i, "]"),
                         json.list_value().values(i));
        }
        break;
      case google::protobuf::Value::kStructValue:
        for (const auto& [key, field] : json.struct_value().fields()) {
          CheckTemplates(absl::StrCat(path, "[", QuoteInput(key), "]"), field);
        }
        break;
      default:
        break;
    }
  }

  void CheckRetry(const std::string& path, const v1::RetryRule& rule) {
    CheckErrors(path + ".errors", rule.errors());
    if (rule.max_attempts() > kMaxAttempts) {
      Add(path + ".maxAttempts",
          absl::StrCat(rule.max_attempts(), " is more than the limit of ",
                       kMaxAttempts, " attempts"));
    }
    CheckDuration(path + ".interval", rule.has_interval(), rule.interval(),
                  absl::ZeroDuration());
    CheckDuration(path + ".maxInterval", rule.has_max_interval(),
                  rule.max_interval(), absl::ZeroDuration());
    const double rate = rule.backoff_rate();
    if (!(rate == 0 || (rate >= 1 && rate <= kMaxBackoffRate))) {
      Add(path + ".backoffRate",
          absl::StrCat(std::isnan(rate) ? "NaN" : absl::StrCat(rate),
                       " is out of bounds; write from 1 to ", kMaxBackoffRate,
                       " (or leave it out for 2)"));
    }
  }

  void CheckErrors(
      const std::string& path,
      const google::protobuf::RepeatedPtrField<std::string>& errors) {
    if (errors.empty()) {
      Add(path, "no error names; list the errors it covers, or \"*\"");
    } else if (errors.size() > kMaxErrorNames) {
      Add(path, absl::StrCat(errors.size(), " error names; the limit is ",
                             kMaxErrorNames));
    }
    for (int i = 0; i < errors.size() && i < kMaxErrorNames; ++i) {
      if (!IsErrorName(errors[i])) {
        Add(absl::StrCat(path, "[", i, "]"),
            absl::StrCat("error name ", QuoteInput(errors[i]),
                         " is not valid; give 1 to ", kMaxErrorNameBytes,
                         " bytes of printable ASCII, or \"*\""));
      }
    }
  }

  // Empty (dropped), or a variable name.
  void CheckVariable(const std::string& path, const std::string& name) {
    if (name.empty()) return;
    if (!IsValidName(name)) {
      Add(path, absl::StrCat("variable name ", QuoteInput(name),
                             " is not valid; ", kNameRule));
    } else if (name.size() > limits_.max_name_bytes) {
      Add(path, absl::StrCat("variable name is ", name.size(),
                             " bytes; the limit is ", limits_.max_name_bytes));
    }
  }

  const MachineLimits& limits_;
  std::vector<DefinitionProblem>* problems_;
};

}  // namespace

void CheckWorkState(const std::string& path, const v1::State& state,
                    const MachineLimits& limits,
                    std::vector<DefinitionProblem>* problems) {
  WorkChecker(limits, problems).Check(path, state);
}

void CheckTaskTimeout(const v1::TaskDefinition& definition,
                      std::vector<DefinitionProblem>* problems) {
  if (!definition.has_timeout()) return;
  const google::protobuf::Duration& timeout = definition.timeout();
  if (timeout.seconds() == 0 && timeout.nanos() == 0) return;  // none
  WorkChecker(MachineLimits(), problems)
      .CheckDuration("timeout", true, timeout, kMinWorkDuration);
}

}  // namespace corosched::machine::internal
