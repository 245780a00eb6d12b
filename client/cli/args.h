#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "corosched/v1/task_definition.pb.h"
#include "corosched/v1/task_state.pb.h"
#include "google/protobuf/struct.pb.h"

namespace corosched::cli {

// The `corosched` command line, parsed and checked, but not yet run: this
// module does no I/O, so every way of writing a command can be unit tested.
// docs/cli.md is the reference for the commands and flags below.

inline constexpr absl::string_view kDefaultAddress = "127.0.0.1:50051";
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(10);

enum class OutputFormat { kText, kJson };

// Flags every command accepts, before or after the command's name.
struct GlobalOptions {
  // --addr, else $COROSCHED_ADDR, else kDefaultAddress.
  std::string address;
  // --timeout: each unary call's deadline. `watch` and `submit --wait` have
  // no deadline unless --timeout is given (timeout_given).
  absl::Duration timeout = kDefaultTimeout;
  bool timeout_given = false;
  // --output text|json.
  OutputFormat output = OutputFormat::kText;
  // TLS, on when tls_ca is set: --tls-ca (else $COROSCHED_TLS_CA), with
  // --tls-cert and --tls-key for a client certificate (both or neither)
  // and --tls-server-name (else $COROSCHED_TLS_SERVER_NAME).
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  // The bearer token, at most one of the two: --token or --token-file,
  // else $COROSCHED_TOKEN or $COROSCHED_TOKEN_FILE (the file is read when
  // the command runs). Never printed.
  std::string token;
  std::string token_file;
  // --namespace, else $COROSCHED_NAMESPACE; empty: the daemon's default.
  std::string namespace_name;
};

// The environment variables the command line falls back on; "" when unset.
struct Environment {
  std::string address;          // COROSCHED_ADDR
  std::string token;            // COROSCHED_TOKEN
  std::string token_file;       // COROSCHED_TOKEN_FILE
  std::string namespace_name;   // COROSCHED_NAMESPACE
  std::string tls_ca;           // COROSCHED_TLS_CA
  std::string tls_server_name;  // COROSCHED_TLS_SERVER_NAME
};

struct SubmitCommand {
  // Exactly one of the two: -f FILE (inline definition) or --definition NAME
  // (registered; --version picks one, default the latest).
  std::string file;
  std::string definition_name;
  std::string definition_version;
  std::map<std::string, v1::Value> inputs;
  std::map<std::string, std::string> labels;
  std::string task_id;
  std::optional<absl::Duration> start_after;
  bool wait = false;
};

struct WakeCommand {
  std::string task_id;
  std::string signal;
  std::optional<google::protobuf::Struct> payload;
  std::string request_id;
};

struct GetCommand {
  std::string task_id;
};

struct ListCommand {
  v1::TaskStatus status = v1::TASK_STATUS_UNSPECIFIED;
  std::string definition_name;
  std::map<std::string, std::string> labels;
  int32_t page_size = 0;  // 0: the daemon's default
  std::string page_token;
};

struct WatchCommand {
  std::string task_id;
  uint64_t after_sequence = 0;
};

struct CancelCommand {
  std::string task_id;
  std::string reason;
};

struct RegisterDefinitionCommand {
  std::string file;
};

struct GetDefinitionCommand {
  std::string name;
  std::string version;  // empty: the latest
};

struct ListDefinitionsCommand {
  std::string name;  // empty: every definition
  int32_t page_size = 0;
  std::string page_token;
};

struct StatsCommand {};

struct HealthCommand {
  std::string service;  // empty: the daemon as a whole
};

// `worker --queue Q ... -- COMMAND [ARGS...]`: runs COMMAND once per item
// of work queue Q (client/cli/worker_command.h).
struct WorkerCommand {
  std::string queue;
  int concurrency = 1;   // 1 to kMaxWorkerConcurrency
  std::string identity;  // empty: "<hostname>:<pid>"
  bool poll = false;     // long polls instead of a stream
  absl::Duration kill_grace = absl::Seconds(10);  // SIGTERM, then SIGKILL
  std::vector<std::string> command;  // COMMAND and its ARGS; not empty
};

inline constexpr int kMaxWorkerConcurrency = 256;

// `help [COMMAND]`, `--help`, `-h`: print usage to stdout, exit 0.
struct HelpCommand {
  std::string topic;  // a command name ("submit", "definitions register")
};

struct VersionCommand {};

using Command =
    std::variant<SubmitCommand, WakeCommand, GetCommand, ListCommand,
                 WatchCommand, CancelCommand, RegisterDefinitionCommand,
                 GetDefinitionCommand, ListDefinitionsCommand, StatsCommand,
                 HealthCommand, WorkerCommand, HelpCommand, VersionCommand>;

// A parsed command line.
struct Invocation {
  GlobalOptions globals;
  Command command;
};

// What ParseCommandLine found.
struct ParsedCommandLine {
  // OK, or INVALID_ARGUMENT saying what is wrong with the command line (the
  // tool prints it with the command's usage and exits 2).
  absl::Status error;
  // The command as far as it was recognized ("submit", "definitions get";
  // empty before a command was found): whose usage goes with the error.
  std::string command_name;
  // Valid when error is OK.
  Invocation invocation;
};

// Parses `args` (argv without the program name); a flag wins over its
// variable in `env`.
//
// Flags take their value as `--flag VALUE` or `--flag=VALUE`; `-f` is
// `--file`; `--` ends the flags. For `worker`, everything after `--` is the
// COMMAND to run and its arguments, taken as they are. Repeatable flags (--var,
// --label) may be given many times; any other flag given twice is an error.
ParsedCommandLine ParseCommandLine(const std::vector<std::string>& args,
                                   const Environment& env);

}  // namespace corosched::cli
