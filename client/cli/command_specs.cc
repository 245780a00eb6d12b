#include "client/cli/command_specs.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "client/cli/values.h"
#include "client/definition_json.h"

namespace corosched::cli {
namespace {

absl::Status Usage(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// Wraps a value parser's error with the flag it came from.
absl::Status FlagError(absl::string_view flag, const absl::Status& status) {
  return Usage(absl::StrCat("--", flag, ": ", status.message()));
}

absl::StatusOr<std::map<std::string, std::string>> Labels(
    const RawCommand& raw) {
  std::map<std::string, std::string> labels;
  for (const std::string& text : raw.All("label")) {
    auto label = ParseLabel(text);
    if (!label.ok()) return FlagError("label", label.status());
    labels[label->first] = label->second;
  }
  return labels;
}

absl::StatusOr<Command> BuildSubmit(const RawCommand& raw) {
  SubmitCommand submit;
  submit.file = raw.Get("file");
  submit.definition_name = raw.Get("definition");
  submit.definition_version = raw.Get("version");
  if (submit.file.empty() == submit.definition_name.empty()) {
    return Usage(
        "give the task definition as -f FILE or a registered one as "
        "--definition NAME (exactly one)");
  }
  if (raw.Has("version") && submit.definition_name.empty()) {
    return Usage("--version goes with --definition NAME");
  }
  for (const std::string& text : raw.All("var")) {
    auto variable = ParseVariable(text);
    if (!variable.ok()) return FlagError("var", variable.status());
    submit.inputs[variable->first] = variable->second;
  }
  auto labels = Labels(raw);
  if (!labels.ok()) return labels.status();
  submit.labels = *std::move(labels);
  submit.task_id = raw.Get("id");
  if (raw.Has("id") && submit.task_id.empty()) {
    return Usage("--id: the task id must not be empty");
  }
  if (raw.Has("start-after")) {
    auto delay = ParseDuration(raw.Get("start-after"));
    if (!delay.ok()) return FlagError("start-after", delay.status());
    submit.start_after = *delay;
  }
  submit.wait = raw.Has("wait");
  return submit;
}

absl::StatusOr<Command> BuildWake(const RawCommand& raw) {
  WakeCommand wake{.task_id = raw.positionals[0],
                   .signal = raw.positionals[1],
                   .request_id = raw.Get("request-id")};
  if (raw.Has("payload")) {
    auto payload = ParseJsonObject(raw.Get("payload"));
    if (!payload.ok()) return FlagError("payload", payload.status());
    wake.payload = *std::move(payload);
  }
  return wake;
}

absl::StatusOr<Command> BuildGet(const RawCommand& raw) {
  return GetCommand{.task_id = raw.positionals[0]};
}

absl::StatusOr<int32_t> PageSize(const RawCommand& raw) {
  if (!raw.Has("page-size")) return 0;
  auto size = ParsePageSize(raw.Get("page-size"));
  if (!size.ok()) return FlagError("page-size", size.status());
  return *size;
}

absl::StatusOr<Command> BuildList(const RawCommand& raw) {
  ListCommand list{.definition_name = raw.Get("definition"),
                   .page_token = raw.Get("page-token")};
  if (raw.Has("state")) {
    auto status = ParseTaskStatus(raw.Get("state"));
    if (!status.ok()) return FlagError("state", status.status());
    list.status = *status;
  }
  auto labels = Labels(raw);
  if (!labels.ok()) return labels.status();
  list.labels = *std::move(labels);
  auto size = PageSize(raw);
  if (!size.ok()) return size.status();
  list.page_size = *size;
  return list;
}

absl::StatusOr<Command> BuildWatch(const RawCommand& raw) {
  WatchCommand watch{.task_id = raw.positionals[0]};
  if (raw.Has("after")) {
    auto after = ParseSequence(raw.Get("after"));
    if (!after.ok()) return FlagError("after", after.status());
    watch.after_sequence = *after;
  }
  return watch;
}

absl::StatusOr<Command> BuildCancel(const RawCommand& raw) {
  return CancelCommand{.task_id = raw.positionals[0],
                       .reason = raw.Get("reason")};
}

absl::StatusOr<Command> BuildRegisterDefinition(const RawCommand& raw) {
  if (raw.Get("file").empty()) {
    return Usage("give the definition's file with -f FILE");
  }
  return RegisterDefinitionCommand{.file = raw.Get("file")};
}

absl::StatusOr<Command> BuildGetDefinition(const RawCommand& raw) {
  return GetDefinitionCommand{
      .name = raw.positionals[0],
      .version = raw.positionals.size() > 1 ? raw.positionals[1] : ""};
}

absl::StatusOr<Command> BuildListDefinitions(const RawCommand& raw) {
  ListDefinitionsCommand list{
      .name = raw.positionals.empty() ? "" : raw.positionals[0],
      .page_token = raw.Get("page-token")};
  auto size = PageSize(raw);
  if (!size.ok()) return size.status();
  list.page_size = *size;
  return list;
}

absl::StatusOr<Command> BuildStats(const RawCommand&) { return StatsCommand{}; }

absl::StatusOr<Command> BuildHealth(const RawCommand& raw) {
  return HealthCommand{.service =
                           raw.positionals.empty() ? "" : raw.positionals[0]};
}

}  // namespace

std::string RawCommand::Get(absl::string_view flag) const {
  auto it = flags.find(flag);
  return it == flags.end() ? "" : it->second.back();
}

std::vector<std::string> RawCommand::All(absl::string_view flag) const {
  auto it = flags.find(flag);
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

const std::vector<CommandSpec>& Commands() {
  static const auto* const kCommands = new std::vector<CommandSpec>{
      {"submit",
       {{"file"},
        {"definition"},
        {"version"},
        {"var", true, true},
        {"label", true, true},
        {"id"},
        {"start-after"},
        {"wait", false}},
       {},
       0,
       BuildSubmit},
      {"wake",
       {{"payload"}, {"request-id"}},
       {"TASK_ID", "SIGNAL"},
       2,
       BuildWake},
      {"get", {}, {"TASK_ID"}, 1, BuildGet},
      {"list",
       {{"state"},
        {"definition"},
        {"label", true, true},
        {"page-size"},
        {"page-token"}},
       {},
       0,
       BuildList},
      {"watch", {{"after"}}, {"TASK_ID"}, 1, BuildWatch},
      {"cancel", {{"reason"}}, {"TASK_ID"}, 1, BuildCancel},
      {"definitions register", {{"file"}}, {}, 0, BuildRegisterDefinition},
      {"definitions get", {}, {"NAME", "VERSION"}, 1, BuildGetDefinition},
      {"definitions list",
       {{"page-size"}, {"page-token"}},
       {"NAME"},
       0,
       BuildListDefinitions},
      {"stats", {}, {}, 0, BuildStats},
      {"health", {}, {"SERVICE"}, 0, BuildHealth},
  };
  return *kCommands;
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& spec : Commands()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const FlagSpec* FindFlag(const CommandSpec* command, absl::string_view name) {
  static constexpr FlagSpec kGlobalFlags[] = {
      {"addr"}, {"timeout"}, {"output"}};
  for (const FlagSpec& flag : kGlobalFlags) {
    if (flag.name == name) return &flag;
  }
  if (command == nullptr) return nullptr;
  for (const FlagSpec& flag : command->flags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

}  // namespace corosched::cli
