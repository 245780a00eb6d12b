#include "server/daemon/config.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "net/host_port.h"
#include "server/daemon/byte_size.h"

namespace corosched::server {
namespace {

// Applies one option's value; the error says what the option accepts (the
// caller prefixes where the value came from).
using Setter = absl::Status (*)(absl::string_view value, ServerConfig& config);

// Shows an option's value in `config` as its flag would take it: HelpText
// shows the defaults of ServerConfig{} this way, so config.h alone says
// what they are.
using Shower = std::string (*)(const ServerConfig& config);

struct Option {
  const char* flag;
  const char* env;
  const char* value_name;
  Shower show;
  const char* help;
  Setter set;
};

// 7d, 36h, 10s: whole days as days, else absl's form.
std::string ShowDuration(absl::Duration d) {
  const absl::Duration day = absl::Hours(24);
  if (d >= day && d % day == absl::ZeroDuration()) {
    return absl::StrCat(d / day, "d");
  }
  return absl::FormatDuration(d);
}

absl::Status ParseCount(absl::string_view value, uint64_t min, uint64_t max,
                        uint64_t* out) {
  if (!absl::SimpleAtoi(value, out) || *out < min || *out > max ||
      absl::StartsWith(value, "+")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a whole number from ", min, " to ", max));
  }
  return absl::OkStatus();
}

bool IsTcpAddress(absl::string_view value) {
  const absl::StatusOr<HostPort> address = SplitHostPort(value);
  return address.ok() && !address->unix_socket;
}

// host:port with a numeric port, [v6]:port, or unix:/path.
absl::Status SetListen(absl::string_view value, ServerConfig& config) {
  absl::Status bad = absl::InvalidArgumentError(
      "expected host:port (such as 127.0.0.1:50051, [::1]:0 or "
      "0.0.0.0:50051) or unix:/path");
  if (!SplitHostPort(value).ok()) return bad;
  config.listen = std::string(value);
  return absl::OkStatus();
}

// host:port as for --listen (no unix:), or empty for no metrics endpoint.
absl::Status SetMetricsListen(absl::string_view value, ServerConfig& config) {
  if (!value.empty() && !IsTcpAddress(value)) {
    return absl::InvalidArgumentError(
        "expected host:port (such as 127.0.0.1:9464, [::1]:0 or "
        "0.0.0.0:9464), or nothing to turn metrics off");
  }
  config.metrics_listen = std::string(value);
  return absl::OkStatus();
}

absl::Status SetWorkers(absl::string_view value, ServerConfig& config) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, 0, 1024, &n);
  config.workers = static_cast<int>(n);
  return ok;
}

absl::Status SetMaxTasks(absl::string_view value, ServerConfig& config) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, 1, uint64_t{1} << 24, &n);
  config.max_tasks = n;
  return ok;
}

absl::Status SetMaxMessageBytes(absl::string_view value, ServerConfig& config) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, 1024, INT32_MAX, &n);
  config.max_message_bytes = static_cast<int>(n);
  return ok;
}

absl::Status SetDataDir(absl::string_view value, ServerConfig& config) {
  if (value.empty()) return absl::InvalidArgumentError("expected a path");
  config.data_dir = std::string(value);
  return absl::OkStatus();
}

absl::Status SetPostgresUrl(absl::string_view value, ServerConfig& config) {
  config.postgres_url = std::string(value);
  return absl::OkStatus();
}

absl::Status SetPostgresConnections(absl::string_view value,
                                    ServerConfig& config) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, 1, 64, &n);
  config.postgres_connections = static_cast<int>(n);
  return ok;
}

absl::Status SetLeaseDuration(absl::string_view value, ServerConfig& config) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d < absl::Seconds(1) ||
      d > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "expected a duration from 1s to 1h, such as 15s");
  }
  config.lease_duration = d;
  return absl::OkStatus();
}

absl::Status SetDurability(absl::string_view value, ServerConfig& config) {
  if (value == "sync") {
    config.durability = ServerConfig::Durability::kSync;
  } else if (value == "none") {
    config.durability = ServerConfig::Durability::kNone;
  } else {
    return absl::InvalidArgumentError("expected sync or none");
  }
  return absl::OkStatus();
}

absl::Status SetMinFreeDisk(absl::string_view value, ServerConfig& config) {
  return ParseByteSize(value, /*max_bytes=*/uint64_t{1} << 60,
                       &config.min_free_disk);
}

// A duration from 1s to 36500d such as 7d, 36h or 90m (absl's units, plus
// d for days).
absl::Status ParseLongDuration(absl::string_view value, absl::Duration* out) {
  absl::Duration d;
  absl::string_view days = value;
  uint64_t n = 0;
  bool parsed = false;
  if (absl::ConsumeSuffix(&days, "d")) {
    parsed = absl::SimpleAtoi(days, &n) && n <= 36500;
    d = absl::Hours(24) * static_cast<int64_t>(n);
  } else {
    parsed = absl::ParseDuration(value, &d);
  }
  if (!parsed || d < absl::Seconds(1) || d > absl::Hours(24 * 36500)) {
    return absl::InvalidArgumentError(
        "expected a duration of at least 1s, such as 7d, 36h or 90m");
  }
  *out = d;
  return absl::OkStatus();
}

absl::Status SetRetention(absl::string_view value, ServerConfig& config) {
  return ParseLongDuration(value, &config.retention);
}

absl::Status SetMaxStartDelay(absl::string_view value, ServerConfig& config) {
  return ParseLongDuration(value, &config.max_start_delay);
}

absl::Status SetDrainTimeout(absl::string_view value, ServerConfig& config) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration() ||
      d > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "expected a duration from 0s to 1h, such as 10s or 500ms");
  }
  config.drain_timeout = d;
  return absl::OkStatus();
}

absl::Status SetReadyFile(absl::string_view value, ServerConfig& config) {
  if (value.empty()) return absl::InvalidArgumentError("expected a path");
  config.ready_file = std::string(value);
  return absl::OkStatus();
}

absl::Status SetRetainFinished(absl::string_view value, ServerConfig& config) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, 0, 100000000, &n);
  config.retain_finished = n;
  return ok;
}

absl::Status SetLogLevel(absl::string_view value, ServerConfig& config) {
  for (absl::string_view level :
       {"trace", "debug", "info", "warn", "error", "off"}) {
    if (value == level) {
      config.log_level = std::string(value);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      "expected one of trace, debug, info, warn, error, off");
}

// A size from `min` to `max` bytes, as ParseByteSize reads it.
absl::Status ParseBoundedSize(absl::string_view value, uint64_t min,
                              uint64_t max, uint64_t* out) {
  uint64_t bytes = 0;
  absl::Status parsed = ParseByteSize(value, max, &bytes);
  if (!parsed.ok()) return parsed;
  if (bytes < min) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected at least ", FormatByteSize(min)));
  }
  *out = bytes;
  return absl::OkStatus();
}

absl::Status SetTaskMaxOutputBytes(absl::string_view value,
                                   ServerConfig& config) {
  return ParseBoundedSize(value, 1, uint64_t{1} << 40,
                          &config.task_max_output_bytes);
}

absl::Status SetTaskMaxVariablesBytes(absl::string_view value,
                                      ServerConfig& config) {
  return ParseBoundedSize(value, 64, uint64_t{1} << 30,
                          &config.task_max_variables_bytes);
}

absl::Status SetTaskMaxEvents(absl::string_view value, ServerConfig& config) {
  return ParseCount(value, 16, uint64_t{1} << 32, &config.task_max_events);
}

std::string ShowRate(uint32_t rate) {
  return rate == 0 ? std::string("0 (unlimited)") : absl::StrCat(rate);
}

// Auth (docs/security.md): a file path, or nothing for none.
absl::Status SetPath(absl::string_view value, std::string& out) {
  out = std::string(value);
  return absl::OkStatus();
}

// A count for a limit from `min` to 1,000,000.
absl::Status SetLimit(absl::string_view value, uint64_t min, uint32_t& out) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, min, 1000000, &n);
  out = static_cast<uint32_t>(n);
  return ok;
}

// A file path, or empty for none (the env var set to "" turns it off).
std::string ShowPath(const std::string& path) {
  return path.empty() ? std::string("none") : path;
}

// Sets one of TlsConfig's files; empty: none.
template <std::string TlsConfig::*kFile>
absl::Status SetTlsFile(absl::string_view value, ServerConfig& config) {
  config.tls.*kFile = std::string(value);
  return absl::OkStatus();
}

absl::Status ParseBool(absl::string_view value, bool* out) {
  if (value == "true") {
    *out = true;
  } else if (value == "false") {
    *out = false;
  } else {
    return absl::InvalidArgumentError("expected true or false");
  }
  return absl::OkStatus();
}

absl::Status SetCredentialsReloadInterval(absl::string_view value,
                                          ServerConfig& config) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d < absl::Seconds(1) ||
      d > absl::Hours(24) || d % absl::Seconds(1) != absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "expected whole seconds from 1s to 24h, such as 10s or 5m");
  }
  config.credentials_reload_interval = d;
  return absl::OkStatus();
}

// Flags of transport security that only make sense together.
absl::Status CheckTlsFlags(const TlsConfig& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both (the certificate "
        "chain and its private key, PEM files) to serve TLS, or neither");
  }
  if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key: client "
        "certificates are verified only on a TLS listener");
  }
  if (tls.metrics_cert_file.empty() != tls.metrics_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--metrics-tls-cert and --metrics-tls-key go together: give both "
        "to serve /metrics over HTTPS, or neither");
  }
  return absl::OkStatus();
}

// --namespace-*: per-namespace limits (server/tasks/namespace_admission.h).
absl::Status SetNamespaceMaxTasks(absl::string_view value,
                                  ServerConfig& config) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, 0, uint64_t{1} << 24, &n);
  config.namespaces.max_tasks = n;
  return ok;
}

absl::Status SetNamespaceSubmitRate(absl::string_view value,
                                    ServerConfig& config) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, 0, 1000000, &n);
  config.namespaces.submit_rate = static_cast<uint32_t>(n);
  return ok;
}

absl::Status SetNamespaceSubmitBurst(absl::string_view value,
                                     ServerConfig& config) {
  uint64_t n = 0;
  absl::Status ok = ParseCount(value, 0, 1000000, &n);
  config.namespaces.submit_burst = static_cast<uint32_t>(n);
  return ok;
}

constexpr Option kOptions[] = {
    {"listen", "COROSCHED_LISTEN", "HOST:PORT",
     [](const ServerConfig& c) { return c.listen; },
     "Address to serve gRPC on; port 0 picks a free port (see --ready-file).",
     SetListen},
    {"workers", "COROSCHED_WORKERS", "N",
     [](const ServerConfig& c) {
       return c.workers == 0 ? std::string("0 (one per core)")
                             : absl::StrCat(c.workers);
     },
     "Executor worker threads.", SetWorkers},
    {"max-tasks", "COROSCHED_MAX_TASKS", "N",
     [](const ServerConfig& c) { return absl::StrCat(c.max_tasks); },
     "Admission bound: unfinished tasks at most. Past it SubmitTask answers "
     "RESOURCE_EXHAUSTED at once.",
     SetMaxTasks},
    {"max-message-bytes", "COROSCHED_MAX_MESSAGE_BYTES", "BYTES",
     [](const ServerConfig& c) { return absl::StrCat(c.max_message_bytes); },
     "Largest request message accepted; larger ones fail with "
     "RESOURCE_EXHAUSTED.",
     SetMaxMessageBytes},
    {"durability", "COROSCHED_DURABILITY", "sync|none",
     [](const ServerConfig& c) {
       return std::string(
           c.durability == ServerConfig::Durability::kSync ? "sync" : "none");
     },
     "sync: keep every task in an SQLite database under --data-dir and "
     "acknowledge a submit or wake only once it is on disk; unfinished tasks "
     "resume after a restart or a crash. none: keep everything in memory and "
     "lose it all when the daemon exits (for tests and benchmarks).",
     SetDurability},
    {"data-dir", "COROSCHED_DATA_DIR", "PATH",
     [](const ServerConfig& c) { return c.data_dir; },
     "Directory of the durable store (created if missing). One daemon at a "
     "time: a second one on the same directory refuses to start.",
     SetDataDir},
    {"postgres-url", "COROSCHED_POSTGRES_URL", "URL",
     [](const ServerConfig& c) {
       // Never the URL itself: it may hold a password.
       return std::string(c.postgres_url.empty() ? "none" : "(set)");
     },
     "Keep every task in this PostgreSQL database (such as "
     "postgresql://user:password@host:5432/corosched), shared with the other "
     "daemons given the same URL: each runs a share of the tasks under a "
     "lease, and any of them answers any call (docs/postgres-store.md). "
     "Overrides --durability and --data-dir, which are then unused.",
     SetPostgresUrl},
    {"postgres-connections", "COROSCHED_POSTGRES_CONNECTIONS", "N",
     [](const ServerConfig& c) { return absl::StrCat(c.postgres_connections); },
     "With --postgres-url: connections for reads and lease calls, from 1 to "
     "64 (two writers and the notification listener have their own "
     "besides).",
     SetPostgresConnections},
    {"lease-duration", "COROSCHED_LEASE_DURATION", "DURATION",
     [](const ServerConfig& c) { return ShowDuration(c.lease_duration); },
     "With --postgres-url: how long this daemon's hold on its tasks lasts "
     "unless renewed; after a crash other daemons resume its tasks this "
     "long after its last renewal. From 1s to 1h.",
     SetLeaseDuration},
    {"min-free-disk", "COROSCHED_MIN_FREE_DISK", "SIZE",
     [](const ServerConfig& c) { return FlagByteSize(c.min_free_disk); },
     "With --durability=sync: refuse to start (exit code 1, before serving) "
     "unless the disk of --data-dir has this much free space, such as 64MiB "
     "or 2GiB; 0 turns the check off. Start-up also commits one write to "
     "the store, so a disk that takes no writes is found then too.",
     SetMinFreeDisk},
    {"retention", "COROSCHED_RETENTION", "DURATION",
     [](const ServerConfig& c) { return ShowDuration(c.retention); },
     "With --durability=sync: finished tasks are kept this long, then purged "
     "in the background (GetTask answers NOT_FOUND). Such as 7d, 36h, 90m.",
     SetRetention},
    {"max-start-delay", "COROSCHED_MAX_START_DELAY", "DURATION",
     [](const ServerConfig& c) { return ShowDuration(c.max_start_delay); },
     "The furthest ahead a submit may delay a task's start (start_after, or "
     "start_at from now); further is refused with INVALID_ARGUMENT. A task "
     "waiting to start holds its place under --max-tasks. Such as 30d, 36h.",
     SetMaxStartDelay},
    {"drain-timeout", "COROSCHED_DRAIN_TIMEOUT", "DURATION",
     [](const ServerConfig& c) { return ShowDuration(c.drain_timeout); },
     "On SIGTERM/SIGINT, how long to let unfinished tasks finish before "
     "stopping them; the daemon exits within it.",
     SetDrainTimeout},
    {"ready-file", "COROSCHED_READY_FILE", "PATH",
     [](const ServerConfig& c) {
       return c.ready_file.empty() ? std::string("none") : c.ready_file;
     },
     "Once serving, write the bound address (such as 127.0.0.1:43127) here, "
     "and on a second line the metrics address (metrics=127.0.0.1:9464) "
     "unless metrics are off.",
     SetReadyFile},
    {"retain-finished", "COROSCHED_RETAIN_FINISHED", "N",
     [](const ServerConfig& c) { return absl::StrCat(c.retain_finished); },
     "With --durability=none: finished tasks kept for GetTask, ListTasks and "
     "WatchTask; older ones are forgotten (NOT_FOUND).",
     SetRetainFinished},
    {"log-level", "COROSCHED_LOG_LEVEL", "LEVEL",
     [](const ServerConfig& c) { return c.log_level; },
     "trace, debug, info, warn, error or off. Logs go to stderr.", SetLogLevel},
    {"metrics-listen", "COROSCHED_METRICS_LISTEN", "HOST:PORT",
     [](const ServerConfig& c) { return c.metrics_listen; },
     "Address to serve Prometheus metrics on, at /metrics; port 0 picks a "
     "free port (the ready file's second line says which). Empty "
     "(--metrics-listen=) turns metrics off.",
     SetMetricsListen},
    {"task-max-output-bytes", "COROSCHED_TASK_MAX_OUTPUT_BYTES", "BYTES",
     [](const ServerConfig& c) {
       return FlagByteSize(c.task_max_output_bytes);
     },
     "Output one task may emit in all; the emit that would pass it ends the "
     "task FAILED with an error naming this flag.",
     SetTaskMaxOutputBytes},
    {"task-max-variables-bytes", "COROSCHED_TASK_MAX_VARIABLES_BYTES", "BYTES",
     [](const ServerConfig& c) {
       return FlagByteSize(c.task_max_variables_bytes);
     },
     "What one task's variables may hold together (names and values). A "
     "submit whose inputs pass it is refused (INVALID_ARGUMENT); a set or a "
     "signal that would pass it ends the task FAILED.",
     SetTaskMaxVariablesBytes},
    {"task-max-events", "COROSCHED_TASK_MAX_EVENTS", "N",
     [](const ServerConfig& c) { return absl::StrCat(c.task_max_events); },
     "Events (output, transitions) kept in each task's log; older ones are "
     "dropped as new ones are recorded, and WatchTask from a dropped "
     "sequence answers OUT_OF_RANGE.",
     SetTaskMaxEvents},
    {"auth-tokens", "COROSCHED_AUTH_TOKENS", "FILE",
     [](const ServerConfig& c) { return ShowPath(c.auth.tokens_file); },
     "JSON file of bearer tokens (only their sha256) and client certificate "
     "names, each with its namespaces and roles (docs/security.md). Calls "
     "without a valid credential answer UNAUTHENTICATED. Re-read when it "
     "changes; a bad new file keeps the previous grants.",
     [](absl::string_view v, ServerConfig& c) {
       return SetPath(v, c.auth.tokens_file);
     }},
    {"jwt-key", "COROSCHED_JWT_KEY", "FILE",
     [](const ServerConfig& c) { return ShowPath(c.auth.jwt_key_file); },
     "Verify JWT bearer tokens with this key: a PEM public key (RS256 or "
     "ES256) or an HS256 secret of at least 32 bytes. Claims: sub, exp, "
     "namespaces, roles. Re-read when it changes.",
     [](absl::string_view v, ServerConfig& c) {
       return SetPath(v, c.auth.jwt_key_file);
     }},
    {"jwt-issuer", "COROSCHED_JWT_ISSUER", "ISSUER",
     [](const ServerConfig& c) { return ShowPath(c.auth.jwt_issuer); },
     "With --jwt-key: a JWT's iss must be this.",
     [](absl::string_view v, ServerConfig& c) {
       return SetPath(v, c.auth.jwt_issuer);
     }},
    {"jwt-audience", "COROSCHED_JWT_AUDIENCE", "AUDIENCE",
     [](const ServerConfig& c) { return ShowPath(c.auth.jwt_audience); },
     "With --jwt-key: a JWT's aud must be or contain this.",
     [](absl::string_view v, ServerConfig& c) {
       return SetPath(v, c.auth.jwt_audience);
     }},
    {"max-streams-per-connection", "COROSCHED_MAX_STREAMS_PER_CONNECTION", "N",
     [](const ServerConfig& c) {
       return absl::StrCat(c.auth.max_streams_per_connection);
     },
     "Concurrent HTTP/2 streams (calls) on one connection; more wait in the "
     "client.",
     [](absl::string_view v, ServerConfig& c) {
       return SetLimit(v, 1, c.auth.max_streams_per_connection);
     }},
    {"principal-max-streams", "COROSCHED_PRINCIPAL_MAX_STREAMS", "N",
     [](const ServerConfig& c) {
       return absl::StrCat(c.auth.principal_max_streams);
     },
     "Open WatchTask, SubmitTasks, WorkStream and PollWork calls of one "
     "principal (with credentials configured); past it RESOURCE_EXHAUSTED.",
     [](absl::string_view v, ServerConfig& c) {
       return SetLimit(v, 1, c.auth.principal_max_streams);
     }},
    {"principal-rate", "COROSCHED_PRINCIPAL_RATE", "N",
     [](const ServerConfig& c) { return ShowRate(c.auth.principal_rate); },
     "Requests per second of one principal (with credentials configured), "
     "in bursts of as many; past it RESOURCE_EXHAUSTED. 0: unlimited.",
     [](absl::string_view v, ServerConfig& c) {
       return SetLimit(v, 0, c.auth.principal_rate);
     }},
    {"connection-rate", "COROSCHED_CONNECTION_RATE", "N",
     [](const ServerConfig& c) { return ShowRate(c.auth.connection_rate); },
     "Requests per second on one connection (with credentials configured), "
     "counted before authentication; past it RESOURCE_EXHAUSTED. 0: "
     "unlimited.",
     [](absl::string_view v, ServerConfig& c) {
       return SetLimit(v, 0, c.auth.connection_rate);
     }},
    // Transport security (docs/operations.md, "TLS"); every file is PEM.
    {"tls-cert", "COROSCHED_TLS_CERT", "FILE",
     [](const ServerConfig& c) { return ShowPath(c.tls.cert_file); },
     "Serve gRPC over TLS with this certificate chain (with --tls-key). A "
     "renewed certificate is served to new connections within "
     "--credentials-reload-interval, without a restart.",
     SetTlsFile<&TlsConfig::cert_file>},
    {"tls-key", "COROSCHED_TLS_KEY", "FILE",
     [](const ServerConfig& c) { return ShowPath(c.tls.key_file); },
     "The private key of --tls-cert (unencrypted PEM).",
     SetTlsFile<&TlsConfig::key_file>},
    {"tls-client-ca", "COROSCHED_TLS_CLIENT_CA", "FILE",
     [](const ServerConfig& c) { return ShowPath(c.tls.client_ca_file); },
     "Require a client certificate signed by one of these CAs on every "
     "connection (mTLS); needs --tls-cert and --tls-key. Reloaded like "
     "them.",
     SetTlsFile<&TlsConfig::client_ca_file>},
    {"credentials-reload-interval", "COROSCHED_CREDENTIALS_RELOAD_INTERVAL",
     "DURATION",
     [](const ServerConfig& c) {
       return ShowDuration(c.credentials_reload_interval);
     },
     "How often the TLS files (and the tokens and JWT key files) are checked "
     "for changes; whole seconds from 1s to 24h.",
     SetCredentialsReloadInterval},
    {"insecure", "COROSCHED_INSECURE", "true|false",
     [](const ServerConfig& c) {
       return std::string(c.insecure ? "true" : "false");
     },
     "Allow --listen or --metrics-listen on an address other than loopback "
     "without TLS and authentication (only on a network you trust). Without "
     "it such a start is refused with the flags that would secure it. "
     "--insecure alone means true.",
     [](absl::string_view v, ServerConfig& c) {
       return ParseBool(v, &c.insecure);
     }},
    {"reflection", "COROSCHED_REFLECTION", "true|false",
     [](const ServerConfig& c) {
       return std::string(c.reflection ? "true" : "false");
     },
     "Serve gRPC server reflection (for grpcurl and the CLI's describe); "
     "false leaves it out (its calls answer UNIMPLEMENTED).",
     [](absl::string_view v, ServerConfig& c) {
       return ParseBool(v, &c.reflection);
     }},
    {"metrics-tls-cert", "COROSCHED_METRICS_TLS_CERT", "FILE",
     [](const ServerConfig& c) { return ShowPath(c.tls.metrics_cert_file); },
     "Serve /metrics over HTTPS with this certificate chain (with "
     "--metrics-tls-key); reloaded like --tls-cert.",
     SetTlsFile<&TlsConfig::metrics_cert_file>},
    {"metrics-tls-key", "COROSCHED_METRICS_TLS_KEY", "FILE",
     [](const ServerConfig& c) { return ShowPath(c.tls.metrics_key_file); },
     "The private key of --metrics-tls-cert (unencrypted PEM).",
     SetTlsFile<&TlsConfig::metrics_key_file>},
    {"metrics-basic-auth", "COROSCHED_METRICS_BASIC_AUTH", "FILE",
     [](const ServerConfig& c) {
       return ShowPath(c.tls.metrics_basic_auth_file);
     },
     "Require HTTP basic auth on /metrics: lines of user:SHA256HEX (the hex "
     "sha256 of the password, e.g. printf %s PASSWORD | sha256sum). "
     "Reloaded when it changes.",
     SetTlsFile<&TlsConfig::metrics_basic_auth_file>},
    {"namespace-max-tasks", "COROSCHED_NAMESPACE_MAX_TASKS", "N",
     [](const ServerConfig& c) {
       return c.namespaces.max_tasks == 0
                  ? std::string("0 (only --max-tasks)")
                  : absl::StrCat(c.namespaces.max_tasks);
     },
     "Unfinished tasks at most per namespace (the corosched-namespace "
     "header); past it a submit in that namespace answers "
     "RESOURCE_EXHAUSTED while other namespaces still submit. 0: only the "
     "daemon-wide --max-tasks.",
     SetNamespaceMaxTasks},
    {"namespace-submit-rate", "COROSCHED_NAMESPACE_SUBMIT_RATE", "N",
     [](const ServerConfig& c) {
       return c.namespaces.submit_rate == 0
                  ? std::string("0 (unlimited)")
                  : absl::StrCat(c.namespaces.submit_rate);
     },
     "Submits per second per namespace (each item of SubmitTasks counts); "
     "past it a submit answers RESOURCE_EXHAUSTED, to be retried later. "
     "0: unlimited.",
     SetNamespaceSubmitRate},
    {"namespace-submit-burst", "COROSCHED_NAMESPACE_SUBMIT_BURST", "N",
     [](const ServerConfig& c) {
       return c.namespaces.submit_burst == 0
                  ? std::string("0 (one second of the rate)")
                  : absl::StrCat(c.namespaces.submit_burst);
     },
     "With --namespace-submit-rate: submits a namespace may make at once "
     "after being idle (the token bucket's size).",
     SetNamespaceSubmitBurst},
};

const Option* FindOption(absl::string_view flag) {
  for (const Option& option : kOptions) {
    if (flag == option.flag) return &option;
  }
  return nullptr;
}

absl::Status Apply(const Option& option, absl::string_view source,
                   absl::string_view value, ServerConfig& config) {
  absl::Status status = option.set(value, config);
  if (status.ok()) return status;
  return absl::InvalidArgumentError(
      absl::StrCat(source, "=", value, ": ", status.message()));
}

// Appends `paragraph` indented by six spaces, wrapped at 80 columns.
void AppendWrapped(absl::string_view paragraph, std::string* text) {
  constexpr size_t kIndent = 6;
  constexpr size_t kWidth = 80;
  size_t column = 0;
  for (absl::string_view word : absl::StrSplit(paragraph, ' ')) {
    if (column > kIndent && column + 1 + word.size() > kWidth) {
      text->push_back('\n');
      column = 0;
    }
    if (column == 0) {
      text->append(kIndent, ' ');
      column = kIndent;
    } else {
      text->push_back(' ');
      ++column;
    }
    absl::StrAppend(text, word);
    column += word.size();
  }
  text->push_back('\n');
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args, EnvLookup env) {
  CommandLine result;
  for (const Option& option : kOptions) {
    std::optional<std::string> value = env(option.env);
    if (!value.has_value()) continue;
    absl::Status status = Apply(option, option.env, *value, result.config);
    if (!status.ok()) return status;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      result.help = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument \"", arg, "\"; flags start with --"));
    }
    absl::string_view name = arg.substr(0, arg.find('='));
    const Option* option = FindOption(name);
    if (option == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, "; see --help"));
    }
    std::string value;
    if (name.size() < arg.size()) {
      value = std::string(arg.substr(name.size() + 1));
    } else if (absl::string_view(option->value_name) == "true|false" &&
               (i + 1 == args.size() || absl::StartsWith(args[i + 1], "--"))) {
      value = "true";  // a switch given alone: --insecure
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, " needs a value (", option->value_name, ")"));
    }
    absl::Status status =
        Apply(*option, absl::StrCat("--", name), value, result.config);
    if (!status.ok()) return status;
  }
  if (absl::Status tls = CheckTlsFlags(result.config.tls); !tls.ok()) {
    return tls;
  }
  return result;
}

std::string HelpText() {
  std::string text =
      "Usage: corosched-server [flags]\n\n"
      "The Corosched daemon: serves corosched.v1.Scheduler, grpc.health.v1 "
      "and\nserver reflection over gRPC. Each flag can also be set by its "
      "environment\nvariable; a flag given on the command line wins.\n\n";
  const ServerConfig defaults;
  for (const Option& option : kOptions) {
    absl::StrAppendFormat(&text, "  --%s %s\n      env %s, default %s\n",
                          option.flag, option.value_name, option.env,
                          option.show(defaults));
    AppendWrapped(option.help, &text);
  }
  absl::StrAppend(
      &text,
      "  --help\n      Print this text and exit.\n\n"
      "Signals: SIGTERM or SIGINT drains (health NOT_SERVING, new submissions "
      "UNAVAILABLE,\nunfinished tasks get --drain-timeout to finish) and "
      "exits 0. See docs/service.md.\n");
  return text;
}

machine::MachineLimits TaskLimits(const ServerConfig& config) {
  machine::MachineLimits limits;
  limits.max_output_bytes = config.task_max_output_bytes;
  limits.max_variables_bytes = config.task_max_variables_bytes;
  return limits;
}

}  // namespace corosched::server
