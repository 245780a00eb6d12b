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
  for (const std::string& text : raw.All("var-json")) {
    auto variable = ParseJsonVariable(text);
    if (!variable.ok()) return FlagError("var-json", variable.status());
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

// The most a lease shows of a worker's identity (PollWorkRequest).
constexpr size_t kMaxIdentityBytes = 256;

absl::StatusOr<Command> BuildWorker(const RawCommand& raw) {
  WorkerCommand worker{.queue = raw.Get("queue"),
                       .identity = raw.Get("identity"),
                       .poll = raw.Has("poll"),
                       .command = raw.command};
  if (worker.queue.empty()) {
    return Usage("give the work queue to take items from with --queue Q");
  }
  if (raw.Has("concurrency")) {
    auto concurrency = ParseConcurrency(raw.Get("concurrency"));
    if (!concurrency.ok())
      return FlagError("concurrency", concurrency.status());
    worker.concurrency = *concurrency;
  }
  if (worker.identity.size() > kMaxIdentityBytes) {
    return Usage(absl::StrCat("--identity: at most ", kMaxIdentityBytes,
                              " bytes, got ", worker.identity.size()));
  }
  if (raw.Has("kill-grace")) {
    auto grace = ParseDuration(raw.Get("kill-grace"));
    if (!grace.ok()) return FlagError("kill-grace", grace.status());
    worker.kill_grace = *grace;
  }
  if (worker.command.empty() || worker.command[0].empty()) {
    return Usage(
        "give the program to run for each item after --, e.g. "
        "`corosched worker --queue jobs -- ./handle-job.sh`");
  }
  return worker;
}

// The first of the global flags and `command`'s (which may be null) that
// `matches`.
template <typename Predicate>
const FlagSpec* FindFlagWhere(const CommandSpec* command, Predicate matches) {
  for (const FlagSpec& flag : GlobalFlags()) {
    if (matches(flag)) return &flag;
  }
  if (command == nullptr) return nullptr;
  for (const FlagSpec& flag : command->flags) {
    if (matches(flag)) return &flag;
  }
  return nullptr;
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
      {.name = "submit",
       .synopsis = "submit (-f FILE | --definition NAME [--version V]) "
                   "[--var K=V]... [--var-json K=JSON]... [--label K=V]... "
                   "[--id ID] "
                   "[--start-after DURATION] [--wait]",
       .summary = "Submits a task and prints its id.",
       .flags = {{.name = "file",
                  .short_name = 'f',
                  .value_name = "FILE",
                  .help = "task definition as JSON (sent inline)"},
                 {.name = "definition",
                  .value_name = "NAME",
                  .help = "a registered definition; --version V picks one\n"
                          "(default: the latest)"},
                 {.name = "version"},
                 {.name = "var",
                  .repeated = true,
                  .value_name = "K=V",
                  .help = "input variable; V is a number, true/false, or "
                          "text;\n"
                          "quote it to force text: --var 'zip=\"01234\"'"},
                 {.name = "var-json",
                  .repeated = true,
                  .value_name = "K=JSON",
                  .help = "input variable given as any JSON value:\n"
                          "--var-json 'order={\"sku\": \"A1\", \"qty\": [1]}'"},
                 {.name = "label",
                  .repeated = true,
                  .value_name = "K=V",
                  .help = "label to filter `list` by"},
                 {.name = "id",
                  .value_name = "ID",
                  .help = "client-chosen task id: submitting the same "
                          "request\n"
                          "again returns the same task"},
                 {.name = "start-after",
                  .value_name = "DURATION",
                  .help = "do not start before this delay (10s, 5m)"},
                 {.name = "wait",
                  .takes_value = false,
                  .help = "print the task's output live and exit with it:\n"
                          "0 completed, 1 failed or cancelled"}},
       .build = BuildSubmit},
      {.name = "wake",
       .synopsis = "wake TASK_ID SIGNAL [--payload JSON] [--request-id R]",
       .summary = "Sends a wake signal and prints the receipt: consumed (the "
                  "task was\n"
                  "awaiting it) or buffered (kept until the task awaits it).",
       .flags = {{.name = "payload",
                  .value_name = "JSON",
                  .help = "object whose fields land in the task's "
                          "variables,\n"
                          "e.g. '{\"by\": \"ana\"}'"},
                 {.name = "request-id",
                  .value_name = "R",
                  .help = "de-duplicates retries: a repeated R is not\n"
                          "delivered again"}},
       .positionals = {"TASK_ID", "SIGNAL"},
       .required_positionals = 2,
       .build = BuildWake},
      {.name = "get",
       .synopsis = "get TASK_ID",
       .summary = "Prints one task in full.",
       .positionals = {"TASK_ID"},
       .required_positionals = 1,
       .build = BuildGet},
      {.name = "list",
       .synopsis = "list [--state S] [--definition NAME] [--label K=V]... "
                   "[--page-size N] [--page-token T]",
       .summary = "Lists tasks, newest first, one per line.",
       .flags = {{.name = "state",
                  .value_name = "S",
                  .help = "ready, sleeping, awaiting, completed, failed,\n"
                          "cancelled"},
                 {.name = "definition",
                  .value_name = "NAME",
                  .help = "only tasks of this definition"},
                 {.name = "label",
                  .repeated = true,
                  .value_name = "K=V",
                  .help = "only tasks with every such label"},
                 {.name = "page-size",
                  .value_name = "N",
                  .help = "at most N tasks (1-1000; default 50)"},
                 {.name = "page-token",
                  .value_name = "T",
                  .help = "the next page, as printed after a full page"}},
       .build = BuildList},
      {.name = "watch",
       .synopsis = "watch TASK_ID [--after SEQ]",
       .summary = "Prints the task's output live and exits when it ends: 0 "
                  "completed,\n"
                  "1 failed or cancelled.",
       .flags = {{.name = "after",
                  .value_name = "SEQ",
                  .help = "only events after sequence number SEQ"}},
       .positionals = {"TASK_ID"},
       .required_positionals = 1,
       .build = BuildWatch},
      {.name = "cancel",
       .synopsis = "cancel TASK_ID [--reason R]",
       .summary = "Cancels the task (an ended task is returned as it is).",
       .flags = {{.name = "reason"}},
       .positionals = {"TASK_ID"},
       .required_positionals = 1,
       .build = BuildCancel},
      {.name = "definitions register",
       .synopsis = "definitions register -f FILE",
       .summary = "Registers a definition under its name and version.",
       .flags = {{.name = "file", .short_name = 'f'}},
       .build = BuildRegisterDefinition},
      {.name = "definitions get",
       .synopsis = "definitions get NAME [VERSION]",
       .summary =
           "Prints a registered definition (default: the latest version).",
       .positionals = {"NAME", "VERSION"},
       .required_positionals = 1,
       .build = BuildGetDefinition},
      {.name = "definitions list",
       .synopsis = "definitions list [NAME] [--page-size N] [--page-token T]",
       .summary = "Lists registered definitions, or NAME's versions.",
       .flags = {{.name = "page-size"}, {.name = "page-token"}},
       .positionals = {"NAME"},
       .build = BuildListDefinitions},
      {.name = "stats",
       .synopsis = "stats",
       .summary = "Prints queue depth, tasks by state and admission.",
       .build = BuildStats},
      {.name = "health",
       .synopsis = "health [SERVICE]",
       .summary = "Prints the daemon's health: SERVING (exit 0) or "
                  "NOT_SERVING (exit 3).",
       .positionals = {"SERVICE"},
       .build = BuildHealth},
      {.name = "worker",
       .synopsis = "worker --queue Q [--concurrency N] [--identity ID] "
                   "[--poll] [--kill-grace DURATION] -- COMMAND [ARGS...]",
       .summary =
           "Takes items from work queue Q and runs COMMAND once per item: "
           "the\n"
           "item's input JSON on stdin, its task id and attempt in\n"
           "$COROSCHED_TASK_ID and $COROSCHED_ATTEMPT. Exit 0 completes the "
           "item\n"
           "with stdout's JSON; exit N fails it as exit_N with stderr's last\n"
           "line. SIGTERM/SIGINT: finish held items, then exit; a second one\n"
           "kills them.",
       .flags = {{.name = "queue",
                  .value_name = "Q",
                  .help = "the work queue to take items from"},
                 {.name = "concurrency",
                  .value_name = "N",
                  .help = "run up to N items at once (1-256; default 1)"},
                 {.name = "identity",
                  .value_name = "ID",
                  .help = "who holds the lease, for operators\n"
                          "(default HOSTNAME:PID)"},
                 {.name = "poll",
                  .takes_value = false,
                  .help = "take items with long polls instead of a stream"},
                 {.name = "kill-grace",
                  .value_name = "DURATION",
                  .help = "a cancelled COMMAND gets SIGTERM, then SIGKILL\n"
                          "after this long (default 10s)"}},
       .takes_command = true,
       .build = BuildWorker},
  };
  return *kCommands;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* const kGlobalFlags = new std::vector<FlagSpec>{
      {.name = "addr",
       .value_name = "HOST:PORT",
       .help = "the daemon (default $COROSCHED_ADDR, else\n127.0.0.1:50051)"},
      {.name = "timeout",
       .value_name = "DURATION",
       .help = "deadline of each call (default 10s; watch and\n"
               "submit --wait wait without one unless given)"},
      {.name = "output",
       .value_name = "text|json",
       .help = "json: protobuf JSON, one object per line"},
      {.name = "namespace",
       .value_name = "NS",
       .help = "the namespace to act in (default $COROSCHED_NAMESPACE,\n"
               "else the daemon's \"default\")"},
      {.name = "token-file",
       .value_name = "FILE",
       .help = "send the bearer token in FILE (default\n"
               "$COROSCHED_TOKEN_FILE)"},
      {.name = "token",
       .value_name = "TOKEN",
       .help = "send TOKEN as the bearer token (default\n"
               "$COROSCHED_TOKEN; other users may see a flag in ps:\n"
               "prefer --token-file or the variable)"},
      {.name = "tls-ca",
       .value_name = "FILE",
       .help = "use TLS, trusting the CA certificates in FILE\n"
               "(PEM; default $COROSCHED_TLS_CA; without it:\n"
               "plaintext)"},
      {.name = "tls-cert",
       .value_name = "FILE",
       .help = "with --tls-key: the client certificate (PEM)\n"
               "for a daemon that requires one (mTLS)"},
      {.name = "tls-key",
       .value_name = "FILE",
       .help = "the client certificate's private key (PEM)"},
      {.name = "tls-server-name",
       .value_name = "NAME",
       .help = "the name the daemon's certificate must carry, if\n"
               "not --addr's host (default\n"
               "$COROSCHED_TLS_SERVER_NAME)"},
  };
  return *kGlobalFlags;
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& spec : Commands()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const FlagSpec* FindFlag(const CommandSpec* command, absl::string_view name) {
  return FindFlagWhere(
      command, [name](const FlagSpec& flag) { return flag.name == name; });
}

const FlagSpec* FindShortFlag(const CommandSpec* command, char short_name) {
  if (short_name == '\0') return nullptr;
  return FindFlagWhere(command, [short_name](const FlagSpec& flag) {
    return flag.short_name == short_name;
  });
}

}  // namespace corosched::cli
