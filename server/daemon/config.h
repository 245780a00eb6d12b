#pragma once

// The daemon's configuration: command-line flags and COROSCHED_* environment
// variables, flags winning. Parsing is pure (the environment is passed in) so
// tests can check every rule (the data directory's checks, which touch the
// file system, are in data_dir_checks.h).
//
//   absl::StatusOr<CommandLine> parsed = ParseCommandLine(args, GetEnv);
//   if (!parsed.ok()) { print parsed.status().message(); exit 2; }
//   if (parsed->help) { print HelpText(); exit 0; }

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/machine/limits.h"

namespace corosched::server {

// Transport security (docs/security.md). Files are PEM, checked for changes
// every ServerConfig::credentials_reload_interval.
struct TlsConfig {
  // Both or neither: gRPC serves TLS with this certificate chain and key.
  std::string cert_file;
  std::string key_file;
  // With TLS: client certificates are required and verified against these
  // CAs (mTLS).
  std::string client_ca_file;
  // /metrics over TLS (both or neither), and basic auth from a file of
  // `user:SHA256HEX` lines (the hex sha256 of each password).
  std::string metrics_cert_file;
  std::string metrics_key_file;
  std::string metrics_basic_auth_file;
};

// Who may call (docs/security.md). Without tokens_file, jwt_key_file and
// TlsConfig::client_ca_file every call is granted (loopback, or --insecure).
struct AuthConfig {
  // {"tokens": [...], "certificates": [...]}: sha256 of each token, its
  // namespaces and roles; certificate common names and theirs.
  std::string tokens_file;
  // A PEM public key (RS256, ES256) or an HS256 secret that signs JWTs;
  // issuer and audience, when set, must match the token's iss and aud.
  std::string jwt_key_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  // HTTP/2 concurrent streams per connection.
  uint32_t max_streams_per_connection = 100;
  // Open streams (WatchTask, SubmitTasks, WorkStream, PollWork) per
  // principal.
  uint32_t principal_max_streams = 1000;
  // Requests per second per principal and per connection; 0: unlimited.
  uint32_t principal_rate = 0;
  uint32_t connection_rate = 0;
};

// Per-namespace bounds, so one tenant cannot take the whole daemon.
struct NamespaceLimits {
  // Unfinished tasks per namespace; 0: only the daemon's --max-tasks.
  size_t max_tasks = 0;
  // Submits per second per namespace (a token bucket of `submit_burst`);
  // 0: unlimited.
  uint32_t submit_rate = 0;
  uint32_t submit_burst = 0;
};

struct ServerConfig {
  // Where gRPC listens: host:port ("127.0.0.1:0" picks a free port), or
  // unix:/path.
  std::string listen = "127.0.0.1:50051";
  // Executor worker threads; 0: one per hardware thread.
  int workers = 0;
  // The admission bound: tasks admitted and not yet finished.
  size_t max_tasks = 100000;
  // Largest request message accepted; bigger ones fail RESOURCE_EXHAUSTED.
  int max_message_bytes = 1 << 20;
  // kSync: the SQLite store under data_dir, acknowledging only what is on
  // disk. kNone: in memory, lost when the process exits (tests, benchmarks).
  enum class Durability { kSync, kNone };
  Durability durability = Durability::kSync;
  // The durable store's directory (created if missing, locked while open).
  std::string data_dir = "./data";
  // Non-empty: the PostgreSQL store at this URL, shared with other daemons
  // (docs/postgres-store.md), instead of durability and data_dir.
  std::string postgres_url;
  // With postgres_url: reader connections in the pool (the writer and the
  // notification listener have one each besides).
  int postgres_connections = 4;
  // With postgres_url: this daemon's lease on the tasks it runs; another
  // daemon resumes them this long after it stops renewing.
  absl::Duration lease_duration = absl::Seconds(15);
  // With kSync: the start fails unless data_dir's disk has this many bytes
  // free (see CheckFreeDisk); 0: no check.
  uint64_t min_free_disk = uint64_t{64} << 20;
  // Finished tasks are purged from the durable store this long after they
  // finished.
  absl::Duration retention = absl::Hours(24 * 7);
  // The furthest a submit may put a task's start (start_after, or start_at
  // from now); further is INVALID_ARGUMENT. A task waiting to start holds an
  // admission slot (--max-tasks) all along.
  absl::Duration max_start_delay = absl::Hours(24 * 30);
  // How long SIGTERM/SIGINT waits for unfinished tasks before stopping.
  absl::Duration drain_timeout = absl::Seconds(10);
  // Written with the bound address once the daemon serves; empty: none.
  std::string ready_file;
  // With --durability=none: finished tasks kept in memory for GetTask,
  // ListTasks and WatchTask.
  size_t retain_finished = 10000;
  // trace, debug, info, warn, error or off.
  std::string log_level = "info";
  // Where Prometheus' /metrics is served: host:port ("127.0.0.1:0" picks a
  // free port, reported in the ready file); empty: no metrics endpoint.
  std::string metrics_listen = "127.0.0.1:9464";

  // Per-task bounds (docs/operations.md, "Limits"). Output a task may emit
  // in all, and what its variables may hold together; past either the task
  // ends FAILED with an error naming the flag.
  uint64_t task_max_output_bytes = uint64_t{8} << 20;
  uint64_t task_max_variables_bytes = uint64_t{1} << 20;
  // Events kept in each task's log; older ones are dropped as new ones are
  // recorded (WatchTask from a dropped sequence answers OUT_OF_RANGE).
  uint64_t task_max_events = 10000;

  TlsConfig tls;
  AuthConfig auth;
  NamespaceLimits namespaces;
  // How often TLS, tokens and JWT key files are checked for changes.
  absl::Duration credentials_reload_interval = absl::Seconds(10);
  // Allows a non-loopback --listen or --metrics-listen without TLS and
  // authentication.
  bool insecure = false;
  // gRPC server reflection (grpcurl, the CLI's `describe`).
  bool reflection = true;
};

// The interpreter's limits with the per-task bounds of `config`.
machine::MachineLimits TaskLimits(const ServerConfig& config);

struct CommandLine {
  ServerConfig config;
  // --help was given: print HelpText() and exit 0.
  bool help = false;
};

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup =
    absl::FunctionRef<std::optional<std::string>(const char* name)>;

// Parses `args` (without the program name): `--flag value` or
// `--flag=value`, each also settable by its environment variable, which
// `env` looks up. INVALID_ARGUMENT with a message naming the flag or
// variable and what it accepts, e.g.
//   --workers=abc: expected a whole number from 0 to 1024
//   COROSCHED_DRAIN_TIMEOUT=ten: expected a duration such as 10s or 500ms
absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args, EnvLookup env);

// Every flag with its environment variable, default and meaning.
std::string HelpText();

}  // namespace corosched::server
