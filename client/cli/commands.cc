#include "client/cli/commands.h"

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "client/cli/connection_options.h"
#include "client/cli/format.h"
#include "client/cli/refusal_hint.h"
#include "client/cli/usage.h"
#include "client/cli/worker_command.h"
#include "client/client.h"
#include "client/definition_json.h"
#include "google/protobuf/util/time_util.h"

namespace corosched::cli {
namespace {

using ::google::protobuf::util::TimeUtil;

bool HasEnded(v1::TaskStatus status) {
  return status == v1::TASK_STATUS_COMPLETED ||
         status == v1::TASK_STATUS_FAILED ||
         status == v1::TASK_STATUS_CANCELLED;
}

// Runs one command; one overload of operator() per Command alternative.
class CommandRunner {
 public:
  CommandRunner(const GlobalOptions& globals, const ClientOptions& connection,
                std::ostream& out, std::ostream& err)
      : globals_(globals), out_(out), err_(err), client_(connection) {}

  // OK, or why the connection options cannot be used.
  const absl::Status& Check() const { return client_.Check(); }

  ExitCode operator()(const SubmitCommand& command);
  ExitCode operator()(const WakeCommand& command);
  ExitCode operator()(const GetCommand& command);
  ExitCode operator()(const ListCommand& command);
  ExitCode operator()(const WatchCommand& command);
  ExitCode operator()(const CancelCommand& command);
  ExitCode operator()(const RegisterDefinitionCommand& command);
  ExitCode operator()(const GetDefinitionCommand& command);
  ExitCode operator()(const ListDefinitionsCommand& command);
  ExitCode operator()(const StatsCommand& command);
  ExitCode operator()(const HealthCommand& command);
  ExitCode operator()(const WorkerCommand& command);
  ExitCode operator()(const HelpCommand& command);
  ExitCode operator()(const VersionCommand& command);

 private:
  bool json() const { return globals_.output == OutputFormat::kJson; }

  // Deadlines: unary calls always have one; waiting only when asked for.
  CallOptions Unary() const { return {.timeout = globals_.timeout}; }
  CallOptions Waiting() const {
    return {.timeout = globals_.timeout_given ? globals_.timeout
                                              : absl::InfiniteDuration()};
  }

  // Prints `status` as "corosched: WHAT: CODE: message" and returns its exit
  // code; local problems (a file) pass `code` to override the mapping.
  ExitCode Fail(absl::string_view what, const absl::Status& status,
                std::optional<ExitCode> code = std::nullopt);

  // Writes one item: its JSON on one line, or `text` on one line.
  void Item(const google::protobuf::Message& message, absl::string_view text);
  void NextPage(const std::string& token);

  // Streams the task's events from `after` until it ends; the exit code is
  // the task's (see ExitCodeForTask).
  ExitCode Follow(const std::string& task_id, uint64_t after);
  ExitCode Finished(const std::string& task_id, const v1::TaskResult& result);

  const GlobalOptions& globals_;
  std::ostream& out_;
  std::ostream& err_;
  Client client_;
};

ExitCode CommandRunner::Fail(absl::string_view what, const absl::Status& status,
                             std::optional<ExitCode> code) {
  // A local problem (a file) is shown as it is; a call's status with its
  // code, which is what a script or a bug report needs.
  const std::string detail =
      code.has_value() ? std::string(status.message())
                       : absl::StrCat(absl::StatusCodeToString(status.code()),
                                      ": ", status.message());
  err_ << "corosched: " << what << ": " << detail << "\n";
  if (!code.has_value()) err_ << RefusalHint(status, globals_);
  err_.flush();
  return code.value_or(ExitCodeFor(status));
}

void CommandRunner::Item(const google::protobuf::Message& message,
                         absl::string_view text) {
  if (json()) {
    out_ << ToJson(message) << "\n";
  } else {
    out_ << text << "\n";
  }
  out_.flush();
}

void CommandRunner::NextPage(const std::string& token) {
  if (token.empty()) return;
  err_ << "next page: --page-token " << token << "\n";
}

ExitCode CommandRunner::operator()(const SubmitCommand& command) {
  v1::SubmitTaskRequest request;
  if (!command.file.empty()) {
    absl::StatusOr<v1::TaskDefinition> definition =
        LoadTaskDefinitionFile(command.file);
    if (!definition.ok()) {
      return Fail("submit", definition.status(), kExitFailure);
    }
    *request.mutable_definition() = *std::move(definition);
  } else {
    request.mutable_definition_ref()->set_name(command.definition_name);
    request.mutable_definition_ref()->set_version(command.definition_version);
  }
  request.mutable_inputs()->insert(command.inputs.begin(),
                                   command.inputs.end());
  request.mutable_labels()->insert(command.labels.begin(),
                                   command.labels.end());
  request.set_task_id(command.task_id);
  if (command.start_after.has_value()) {
    *request.mutable_start_after() = TimeUtil::NanosecondsToDuration(
        absl::ToInt64Nanoseconds(*command.start_after));
  }
  absl::StatusOr<v1::SubmitTaskResponse> submitted =
      client_.SubmitTask(request, Unary());
  if (!submitted.ok()) return Fail("submit", submitted.status());
  if (json() || !command.wait) Item(*submitted, submitted->task().id());
  if (!submitted->created()) {
    err_ << "corosched: task " << submitted->task().id()
         << " already existed with this request; it is returned unchanged\n";
  }
  if (!command.wait) return kExitSuccess;
  return Follow(submitted->task().id(), 0);
}

ExitCode CommandRunner::Follow(const std::string& task_id, uint64_t after) {
  v1::WatchTaskRequest request;
  request.set_task_id(task_id);
  request.set_after_sequence(after);
  std::unique_ptr<TaskWatch> watch = client_.StartWatch(request, Waiting());
  v1::TaskEvent event;
  std::optional<v1::TaskResult> result;
  uint64_t last = after;
  while (watch->Next(&event)) {
    last = event.sequence();
    if (json()) {
      out_ << ToJson(event) << "\n";
    } else if (event.has_output()) {
      out_ << event.output().text();
    }
    out_.flush();
    if (event.has_finished()) result = event.finished();
  }
  absl::Status status = watch->Finish();
  if (result.has_value()) return Finished(task_id, *result);
  if (!status.ok()) return Fail(absl::StrCat("watch ", task_id), status);
  // The stream ended without a result: the task may have ended at or before
  // `after`, or the daemon went away.
  absl::StatusOr<v1::Task> task = client_.GetTask(task_id, Unary());
  if (task.ok() && HasEnded(task->status())) {
    v1::TaskResult ended;
    ended.set_status(task->status());
    ended.set_result(task->result());
    ended.set_error(task->error());
    return Finished(task_id, ended);
  }
  return Fail(absl::StrCat("watch ", task_id),
              absl::UnavailableError(absl::StrCat(
                  "the stream ended before the task did; resume with "
                  "`corosched watch ",
                  task_id, " --after ", last, "`")));
}

ExitCode CommandRunner::Finished(const std::string& task_id,
                                 const v1::TaskResult& result) {
  if (!json()) err_ << FinishedLine(task_id, result) << "\n";
  return ExitCodeForTask(result.status());
}

ExitCode CommandRunner::operator()(const WakeCommand& command) {
  v1::WakeTaskRequest request;
  request.set_task_id(command.task_id);
  request.set_signal(command.signal);
  if (command.payload.has_value())
    *request.mutable_payload() = *command.payload;
  request.set_request_id(command.request_id);
  absl::StatusOr<v1::WakeTaskResponse> receipt =
      client_.WakeTask(request, Unary());
  if (!receipt.ok()) {
    return Fail(absl::StrCat("wake ", command.task_id), receipt.status());
  }
  Item(*receipt, ReceiptText(*receipt));
  return kExitSuccess;
}

ExitCode CommandRunner::operator()(const GetCommand& command) {
  absl::StatusOr<v1::Task> task = client_.GetTask(command.task_id, Unary());
  if (!task.ok()) {
    return Fail(absl::StrCat("get ", command.task_id), task.status());
  }
  if (json()) {
    Item(*task, "");
  } else {
    out_ << TaskDetails(*task) << std::flush;
  }
  return kExitSuccess;
}

ExitCode CommandRunner::operator()(const ListCommand& command) {
  v1::ListTasksRequest request;
  request.set_status(command.status);
  request.set_definition_name(command.definition_name);
  request.mutable_labels()->insert(command.labels.begin(),
                                   command.labels.end());
  request.set_page_size(command.page_size);
  request.set_page_token(command.page_token);
  absl::StatusOr<v1::ListTasksResponse> page =
      client_.ListTasks(request, Unary());
  if (!page.ok()) return Fail("list", page.status());
  for (const v1::Task& task : page->tasks()) Item(task, TaskLine(task));
  NextPage(page->next_page_token());
  return kExitSuccess;
}

ExitCode CommandRunner::operator()(const WatchCommand& command) {
  return Follow(command.task_id, command.after_sequence);
}

ExitCode CommandRunner::operator()(const CancelCommand& command) {
  absl::StatusOr<v1::Task> task =
      client_.CancelTask(command.task_id, command.reason, Unary());
  if (!task.ok()) {
    return Fail(absl::StrCat("cancel ", command.task_id), task.status());
  }
  Item(*task, TaskLine(*task));
  return kExitSuccess;
}

ExitCode CommandRunner::operator()(const RegisterDefinitionCommand& command) {
  absl::StatusOr<v1::TaskDefinition> definition =
      LoadTaskDefinitionFile(command.file);
  if (!definition.ok()) {
    return Fail("definitions register", definition.status(), kExitFailure);
  }
  absl::StatusOr<v1::RegisterDefinitionResponse> registered =
      client_.RegisterDefinition(*definition, Unary());
  if (!registered.ok()) {
    return Fail("definitions register", registered.status());
  }
  const std::string name =
      DefinitionText(registered->name(), registered->version());
  Item(*registered, registered->created()
                        ? absl::StrCat("registered ", name)
                        : absl::StrCat(name,
                                       " was already registered (the same "
                                       "definition)"));
  return kExitSuccess;
}

ExitCode CommandRunner::operator()(const GetDefinitionCommand& command) {
  absl::StatusOr<v1::GetDefinitionResponse> got =
      client_.GetDefinition(command.name, command.version, Unary());
  if (!got.ok()) {
    return Fail(absl::StrCat("definitions get ",
                             DefinitionText(command.name, command.version)),
                got.status());
  }
  if (json()) {
    Item(*got, "");
  } else {
    out_ << ToJson(got->definition(), /*pretty=*/true) << std::flush;
  }
  return kExitSuccess;
}

ExitCode CommandRunner::operator()(const ListDefinitionsCommand& command) {
  v1::ListDefinitionsRequest request;
  request.set_name(command.name);
  request.set_page_size(command.page_size);
  request.set_page_token(command.page_token);
  absl::StatusOr<v1::ListDefinitionsResponse> page =
      client_.ListDefinitions(request, Unary());
  if (!page.ok()) return Fail("definitions list", page.status());
  for (const v1::DefinitionSummary& definition : page->definitions()) {
    Item(definition, DefinitionLine(definition));
  }
  NextPage(page->next_page_token());
  return kExitSuccess;
}

ExitCode CommandRunner::operator()(const StatsCommand&) {
  absl::StatusOr<v1::QueueStats> stats = client_.GetQueueStats(Unary());
  if (!stats.ok()) return Fail("stats", stats.status());
  if (json()) {
    Item(*stats, "");
  } else {
    out_ << StatsText(*stats) << std::flush;
  }
  return kExitSuccess;
}

ExitCode CommandRunner::operator()(const HealthCommand& command) {
  absl::StatusOr<ServingStatus> health =
      client_.Health(command.service, Unary());
  if (!health.ok()) return Fail("health", health.status());
  const absl::string_view name = ServingStatusName(*health);
  out_ << (json() ? absl::StrCat("{\"status\":\"", name, "\"}")
                  : std::string(name))
       << "\n"
       << std::flush;
  switch (*health) {
    case ServingStatus::kServing:
      return kExitSuccess;
    case ServingStatus::kNotServing:
      return kExitUnavailable;
    case ServingStatus::kServiceUnknown:
      return kExitNotFound;
    case ServingStatus::kUnknown:
      break;
  }
  return kExitFailure;
}

// Handled by RunInvocation before a runner exists.
ExitCode CommandRunner::operator()(const WorkerCommand&) {
  return kExitFailure;
}
ExitCode CommandRunner::operator()(const HelpCommand&) { return kExitFailure; }
ExitCode CommandRunner::operator()(const VersionCommand&) {
  return kExitFailure;
}

}  // namespace

ExitCode RunInvocation(const Invocation& invocation, std::ostream& out,
                       std::ostream& err) {
  // These two need no daemon (and have no address to make a client for).
  if (const auto* help = std::get_if<HelpCommand>(&invocation.command)) {
    out << UsageText(help->topic) << std::flush;
    return kExitSuccess;
  }
  if (std::holds_alternative<VersionCommand>(invocation.command)) {
    out << "corosched " << ClientVersion() << "\n" << std::flush;
    return kExitSuccess;
  }
  absl::StatusOr<ClientOptions> connection =
      ConnectionOptions(invocation.globals);
  if (!connection.ok()) {
    err << "corosched: " << connection.status().message() << "\n" << std::flush;
    return kExitFailure;
  }
  // A worker runs until a signal, with a channel of its own.
  if (const auto* worker = std::get_if<WorkerCommand>(&invocation.command)) {
    return RunWorker(*worker, *connection, err);
  }
  CommandRunner runner(invocation.globals, *connection, out, err);
  if (!runner.Check().ok()) {
    err << "corosched: " << runner.Check().message() << "\n" << std::flush;
    return kExitFailure;
  }
  return std::visit(runner, invocation.command);
}

}  // namespace corosched::cli
