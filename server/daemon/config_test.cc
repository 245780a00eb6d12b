#include "server/daemon/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/daemon/data_dir_checks.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

class FakeEnv {
 public:
  explicit FakeEnv(std::map<std::string, std::string> vars = {})
      : vars_(std::move(vars)) {}
  std::optional<std::string> operator()(const char* name) const {
    auto it = vars_.find(name);
    if (it == vars_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> vars_;
};

absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                  std::map<std::string, std::string> env = {}) {
  FakeEnv fake(std::move(env));
  return ParseCommandLine(args, fake);
}

TEST(ConfigTest, DefaultsMatchTheDocumentation) {
  auto parsed = Parse({});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ServerConfig& config = parsed->config;
  EXPECT_EQ(config.listen, "127.0.0.1:50051");
  EXPECT_EQ(config.workers, 0);
  EXPECT_EQ(config.max_tasks, 100000u);
  EXPECT_EQ(config.max_message_bytes, 1 << 20);
  EXPECT_EQ(config.durability, ServerConfig::Durability::kSync);
  EXPECT_EQ(config.data_dir, "./data");
  EXPECT_EQ(config.min_free_disk, uint64_t{64} << 20);
  EXPECT_EQ(config.retention, absl::Hours(24 * 7));
  EXPECT_EQ(config.max_start_delay, absl::Hours(24 * 30));
  EXPECT_EQ(config.drain_timeout, absl::Seconds(10));
  EXPECT_EQ(config.ready_file, "");
  EXPECT_EQ(config.retain_finished, 10000u);
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.metrics_listen, "127.0.0.1:9464");
  EXPECT_FALSE(parsed->help);
}

TEST(ConfigTest, ReadsEveryFlagInBothSpellings) {
  auto parsed = Parse({"--listen",
                       "127.0.0.1:0",
                       "--workers=3",
                       "--max-tasks",
                       "10",
                       "--max-message-bytes=4096",
                       "--data-dir",
                       "/tmp/x",
                       "--drain-timeout=1500ms",
                       "--ready-file",
                       "/tmp/ready",
                       "--retain-finished=5",
                       "--log-level",
                       "debug",
                       "--durability=none",
                       "--retention",
                       "36h",
                       "--metrics-listen",
                       "[::1]:0",
                       "--max-start-delay",
                       "2d",

                       "--min-free-disk",
                       "2GiB"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ServerConfig& config = parsed->config;
  EXPECT_EQ(config.listen, "127.0.0.1:0");
  EXPECT_EQ(config.workers, 3);
  EXPECT_EQ(config.max_tasks, 10u);
  EXPECT_EQ(config.max_message_bytes, 4096);
  EXPECT_EQ(config.data_dir, "/tmp/x");
  EXPECT_EQ(config.drain_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(config.ready_file, "/tmp/ready");
  EXPECT_EQ(config.retain_finished, 5u);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.durability, ServerConfig::Durability::kNone);
  EXPECT_EQ(config.retention, absl::Hours(36));
  EXPECT_EQ(config.metrics_listen, "[::1]:0");
  EXPECT_EQ(config.max_start_delay, absl::Hours(48));
  EXPECT_EQ(config.min_free_disk, uint64_t{2} << 30);
}

TEST(ConfigTest, MaxStartDelayTakesDaysAndAbslDurations) {
  auto days = Parse({}, {{"COROSCHED_MAX_START_DELAY", "7d"}});
  ASSERT_TRUE(days.ok()) << days.status();
  EXPECT_EQ(days->config.max_start_delay, absl::Hours(24 * 7));
  auto hours =
      Parse({"--max-start-delay=36h"}, {{"COROSCHED_MAX_START_DELAY", "7d"}});
  ASSERT_TRUE(hours.ok()) << hours.status();
  EXPECT_EQ(hours->config.max_start_delay, absl::Hours(36));
}

TEST(ConfigTest, TaskLimitsTakeSizesAndCountsAndBecomeMachineLimits) {
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.task_max_output_bytes, uint64_t{8} << 20);
  EXPECT_EQ(defaults->config.task_max_variables_bytes, uint64_t{1} << 20);
  EXPECT_EQ(defaults->config.task_max_events, 10000u);
  auto parsed = Parse(
      {"--task-max-output-bytes=16MiB", "--task-max-variables-bytes", "2048"},
      {{"COROSCHED_TASK_MAX_EVENTS", "500"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.task_max_events, 500u);
  const machine::MachineLimits limits = TaskLimits(parsed->config);
  EXPECT_EQ(limits.max_output_bytes, uint64_t{16} << 20);
  EXPECT_EQ(limits.max_variables_bytes, 2048u);

  auto tiny = Parse({"--task-max-variables-bytes=8"});
  EXPECT_EQ(tiny.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tiny.status().message()),
              HasSubstr("--task-max-variables-bytes=8: expected at least"));
  auto few = Parse({"--task-max-events=1"});
  EXPECT_THAT(std::string(few.status().message()),
              HasSubstr("--task-max-events=1: expected a whole number"));
}

TEST(ConfigTest, RetentionTakesDaysAndAbslDurations) {
  auto days = Parse({}, {{"COROSCHED_RETENTION", "30d"}});
  ASSERT_TRUE(days.ok()) << days.status();
  EXPECT_EQ(days->config.retention, absl::Hours(24 * 30));
  auto minutes = Parse({"--retention=90m"});
  ASSERT_TRUE(minutes.ok()) << minutes.status();
  EXPECT_EQ(minutes->config.retention, absl::Minutes(90));
}

TEST(ConfigTest, PostgresFlagsSelectTheSharedStoreAndItsLease) {
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.postgres_url, "");
  EXPECT_EQ(defaults->config.postgres_connections, 4);
  EXPECT_EQ(defaults->config.lease_duration, absl::Seconds(15));
  auto parsed = Parse({"--postgres-url=postgresql://u:pw@db/corosched",
                       "--postgres-connections", "8"},
                      {{"COROSCHED_LEASE_DURATION", "30s"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.postgres_url, "postgresql://u:pw@db/corosched");
  EXPECT_EQ(parsed->config.postgres_connections, 8);
  EXPECT_EQ(parsed->config.lease_duration, absl::Seconds(30));
  auto short_lease = Parse({"--lease-duration=500ms"});
  EXPECT_EQ(short_lease.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_lease.status().message(), HasSubstr("--lease-duration"));
  EXPECT_FALSE(Parse({"--postgres-connections=0"}).ok());
  // The help never shows a URL, which may hold a password.
  EXPECT_THAT(HelpText(), HasSubstr("COROSCHED_POSTGRES_URL"));
}

TEST(ConfigTest, AnEmptyMetricsListenTurnsMetricsOff) {
  auto flag = Parse({"--metrics-listen="});
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->config.metrics_listen, "");
  auto env = Parse({}, {{"COROSCHED_METRICS_LISTEN", ""}});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->config.metrics_listen, "");
  auto flag_wins = Parse({"--metrics-listen", "127.0.0.1:0"},
                         {{"COROSCHED_METRICS_LISTEN", "0.0.0.0:9464"}});
  ASSERT_TRUE(flag_wins.ok()) << flag_wins.status();
  EXPECT_EQ(flag_wins->config.metrics_listen, "127.0.0.1:0");
  auto from_env = Parse({}, {{"COROSCHED_METRICS_LISTEN", "0.0.0.0:9464"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->config.metrics_listen, "0.0.0.0:9464");
}

TEST(ConfigTest, EnvironmentSetsWhatFlagsDoNotAndFlagsWin) {
  auto parsed = Parse({"--workers", "2"}, {{"COROSCHED_WORKERS", "7"},
                                           {"COROSCHED_MAX_TASKS", "33"},
                                           {"COROSCHED_LISTEN", "[::1]:0"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.workers, 2);
  EXPECT_EQ(parsed->config.max_tasks, 33u);
  EXPECT_EQ(parsed->config.listen, "[::1]:0");
}

TEST(ConfigTest, AGoodFlagDoesNotExcuseABadEnvironmentValue) {
  auto parsed = Parse({"--workers", "2"}, {{"COROSCHED_WORKERS", "many"}});
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("COROSCHED_WORKERS=many"));
}

TEST(ConfigTest, BadValuesNameTheFlagAndWhatItAccepts) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--workers=abc"}, "--workers=abc: expected a whole number from 0"},
      {{"--workers", "-1"}, "--workers=-1: expected a whole number"},
      {{"--max-tasks", "0"}, "--max-tasks=0: expected a whole number from 1"},
      {{"--max-message-bytes=10"}, "expected a whole number from 1024"},
      {{"--listen", "localhost"}, "--listen=localhost: expected host:port"},
      {{"--listen", "h:99999"}, "expected host:port"},
      {{"--drain-timeout", "ten"}, "--drain-timeout=ten: expected a duration"},
      {{"--drain-timeout", "-1s"}, "expected a duration"},
      {{"--log-level", "loud"}, "expected one of trace"},
      {{"--data-dir="}, "--data-dir=: expected a path"},
      {{"--durability=fsync"}, "--durability=fsync: expected sync or none"},
      {{"--retention=0s"}, "--retention=0s: expected a duration of at least"},
      {{"--retention=xd"}, "--retention=xd: expected a duration"},
      {{"--retention=week"}, "expected a duration of at least 1s"},
      {{"--max-start-delay=0s"},
       "--max-start-delay=0s: expected a duration of at least 1s"},
      {{"--max-start-delay", "-5d"}, "--max-start-delay=-5d: expected"},
      {{"--max-start-delay=36501d"}, "expected a duration of at least 1s"},
      {{"--max-start-delay=forever"}, "expected a duration of at least 1s"},
      {{"--metrics-listen", "9464"}, "--metrics-listen=9464: expected host"},
      {{"--metrics-listen=:9464"}, "or nothing to turn metrics off"},
      {{"--metrics-listen", "unix:/tmp/m"}, "expected host:port"},
      {{"--metrics-listen", "h:65536"}, "expected host:port"},
      {{"--min-free-disk=64MB"}, "--min-free-disk=64MB: expected a size"},
      {{"--min-free-disk", "2000000TiB"}, "at most 1048576 TiB"},
      {{"--bogus"}, "unknown flag --bogus; see --help"},
      {{"--listen"}, "--listen needs a value (HOST:PORT)"},
      {{"serve"}, "unexpected argument \"serve\""},
  };
  for (const Case& c : cases) {
    auto parsed = Parse(c.args);
    ASSERT_FALSE(parsed.ok()) << c.args[0];
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.message));
  }
}

TEST(ConfigTest, NamespaceLimitsComeFromFlagsAndTheEnvironment) {
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->config.namespaces.max_tasks, 0u);
  EXPECT_EQ(defaults->config.namespaces.submit_rate, 0u);
  EXPECT_EQ(defaults->config.namespaces.submit_burst, 0u);
  auto flags =
      Parse({"--namespace-max-tasks", "500", "--namespace-submit-rate=20",
             "--namespace-submit-burst", "40"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->config.namespaces.max_tasks, 500u);
  EXPECT_EQ(flags->config.namespaces.submit_rate, 20u);
  EXPECT_EQ(flags->config.namespaces.submit_burst, 40u);
  auto env = Parse({"--namespace-submit-rate=5"},
                   {{"COROSCHED_NAMESPACE_MAX_TASKS", "7"},
                    {"COROSCHED_NAMESPACE_SUBMIT_RATE", "9"},
                    {"COROSCHED_NAMESPACE_SUBMIT_BURST", "11"}});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->config.namespaces.max_tasks, 7u);
  EXPECT_EQ(env->config.namespaces.submit_rate, 5u);  // the flag wins
  EXPECT_EQ(env->config.namespaces.submit_burst, 11u);
  for (const char* bad :
       {"--namespace-max-tasks=-1", "--namespace-submit-rate=fast",
        "--namespace-submit-burst=1.5"}) {
    auto parsed = Parse({bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(),
                HasSubstr("expected a whole number from 0"));
  }
  const std::string help = HelpText();
  for (const char* text :
       {"--namespace-max-tasks", "COROSCHED_NAMESPACE_MAX_TASKS",
        "--namespace-submit-rate", "COROSCHED_NAMESPACE_SUBMIT_RATE",
        "--namespace-submit-burst", "COROSCHED_NAMESPACE_SUBMIT_BURST"}) {
    EXPECT_THAT(help, HasSubstr(text));
  }
}

TEST(ConfigTest, MinFreeDiskComesFromTheEnvironmentToo) {
  auto parsed = Parse({}, {{"COROSCHED_MIN_FREE_DISK", "0"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.min_free_disk, 0u);
  parsed = Parse({}, {{"COROSCHED_MIN_FREE_DISK", "lots"}});
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("COROSCHED_MIN_FREE_DISK=lots: expected a size"));
}

TEST(ConfigTest, EnvironmentErrorsNameTheVariable) {
  auto parsed = Parse({}, {{"COROSCHED_DRAIN_TIMEOUT", "soon"}});
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("COROSCHED_DRAIN_TIMEOUT=soon: expected a duration"));
}

TEST(ConfigTest, HelpListsEveryFlagWithItsVariable) {
  auto parsed = Parse({"--help"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->help);
  const std::string help = HelpText();
  for (const char* text : {"--listen",
                           "COROSCHED_LISTEN",
                           "--workers",
                           "COROSCHED_WORKERS",
                           "--max-tasks",
                           "COROSCHED_MAX_TASKS",
                           "--max-message-bytes",
                           "COROSCHED_MAX_MESSAGE_BYTES",
                           "--data-dir",
                           "COROSCHED_DATA_DIR",
                           "--drain-timeout",
                           "COROSCHED_DRAIN_TIMEOUT",
                           "--ready-file",
                           "COROSCHED_READY_FILE",
                           "--retain-finished",
                           "--log-level",
                           "--durability",
                           "COROSCHED_DURABILITY",
                           "--retention",
                           "COROSCHED_RETENTION",
                           "--max-start-delay DURATION",
                           "COROSCHED_MAX_START_DELAY, default 30d",
                           "--min-free-disk SIZE",
                           "COROSCHED_MIN_FREE_DISK, default 64MiB",
                           "durable store"}) {
    EXPECT_THAT(help, HasSubstr(text));
  }
}

TEST(ConfigTest, HelpExplainsMetricsListen) {
  const std::string help = HelpText();
  EXPECT_THAT(help, HasSubstr("--metrics-listen HOST:PORT"));
  EXPECT_THAT(help,
              HasSubstr("COROSCHED_METRICS_LISTEN, default 127.0.0.1:9464"));
  EXPECT_THAT(help, HasSubstr("/metrics"));
  EXPECT_THAT(help, HasSubstr("metrics off"));
}

TEST(ConfigTest, PrepareDataDirMakesANewDirectoryOwnerOnly) {
  const mode_t old_umask = umask(022);  // would give 0755 if left to it
  const std::filesystem::path base =
      std::filesystem::path(::testing::TempDir()) /
      ("config_mode_test_" + std::to_string(getpid()));
  const std::filesystem::path dir = base / "data";
  ASSERT_TRUE(PrepareDataDir(dir.string()).ok());
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // An existing directory is the operator's: its mode stays.
  ASSERT_EQ(chmod(dir.c_str(), 0750), 0);
  ASSERT_TRUE(PrepareDataDir(dir.string()).ok());
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  umask(old_umask);
  std::filesystem::remove_all(base);
}

TEST(ConfigTest, PrepareDataDirCreatesMissingDirectories) {
  const std::filesystem::path base =
      std::filesystem::path(::testing::TempDir()) /
      ("config_test_" + std::to_string(getpid()));
  const std::filesystem::path dir = base / "a" / "b";
  EXPECT_TRUE(PrepareDataDir(dir.string()).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_TRUE(PrepareDataDir(dir.string()).ok());  // already there

  const std::filesystem::path file = base / "file";
  std::ofstream(file) << "x";
  absl::Status status = PrepareDataDir(file.string());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("--data-dir"));
  std::filesystem::remove_all(base);
}

TEST(ConfigTest, ReadsTheAuthFlagsAndTheirVariables) {
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  const AuthConfig& none = defaults->config.auth;
  EXPECT_EQ(none.tokens_file, "");
  EXPECT_EQ(none.jwt_key_file, "");
  EXPECT_EQ(none.max_streams_per_connection, 100u);
  EXPECT_EQ(none.principal_max_streams, 1000u);
  EXPECT_EQ(none.principal_rate, 0u);
  EXPECT_EQ(none.connection_rate, 0u);

  auto parsed = Parse(
      {"--auth-tokens", "/etc/t.json", "--jwt-key=/etc/k.pem", "--jwt-issuer",
       "https://idp", "--jwt-audience=cs", "--max-streams-per-connection=8",
       "--principal-max-streams", "9", "--principal-rate=50"},
      {{"COROSCHED_CONNECTION_RATE", "20"}, {"COROSCHED_PRINCIPAL_RATE", "7"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const AuthConfig& auth = parsed->config.auth;
  EXPECT_EQ(auth.tokens_file, "/etc/t.json");
  EXPECT_EQ(auth.jwt_key_file, "/etc/k.pem");
  EXPECT_EQ(auth.jwt_issuer, "https://idp");
  EXPECT_EQ(auth.jwt_audience, "cs");
  EXPECT_EQ(auth.max_streams_per_connection, 8u);
  EXPECT_EQ(auth.principal_max_streams, 9u);
  EXPECT_EQ(auth.principal_rate, 50u);  // the flag wins
  EXPECT_EQ(auth.connection_rate, 20u);
}

TEST(ConfigTest, BadAuthLimitsNameTheFlag) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--max-streams-per-connection=0"},
       "--max-streams-per-connection=0: expected a whole number from 1"},
      {{"--principal-max-streams", "lots"},
       "--principal-max-streams=lots: expected a whole number from 1"},
      {{"--principal-rate=-1"}, "--principal-rate=-1: expected a whole number"},
      {{"--connection-rate=2000000"}, "to 1000000"},
  };
  for (const auto& [args, message] : cases) {
    auto parsed = Parse(args);
    ASSERT_FALSE(parsed.ok()) << args[0];
    EXPECT_THAT(parsed.status().message(), HasSubstr(message));
  }
}

TEST(ConfigTest, HelpListsTheAuthFlags) {
  const std::string help = HelpText();
  for (const char* text :
       {"--auth-tokens FILE\n      env COROSCHED_AUTH_TOKENS, default none",
        "--jwt-key FILE", "COROSCHED_JWT_ISSUER", "COROSCHED_JWT_AUDIENCE",
        "--max-streams-per-connection N", "default 100",
        "--principal-max-streams N", "default 1000",
        "--principal-rate N\n      env COROSCHED_PRINCIPAL_RATE, default 0 "
        "(unlimited)",
        "COROSCHED_CONNECTION_RATE"}) {
    EXPECT_THAT(help, HasSubstr(text));
  }
}

}  // namespace
}  // namespace corosched::server
