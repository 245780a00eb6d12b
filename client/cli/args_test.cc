#include "client/cli/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Parses `args` (expecting success) and returns the command as T.
template <typename T>
T Parse(const std::vector<std::string>& args, const Environment& env = {}) {
  ParsedCommandLine parsed = ParseCommandLine(args, env);
  EXPECT_TRUE(parsed.error.ok()) << parsed.error;
  const T* command = std::get_if<T>(&parsed.invocation.command);
  EXPECT_NE(command, nullptr) << "parsed as another command";
  return command != nullptr ? *command : T{};
}

// Parses `args` expecting a usage error; returns its message.
std::string UsageError(const std::vector<std::string>& args,
                       absl::string_view command_name = "") {
  ParsedCommandLine parsed = ParseCommandLine(args, {});
  EXPECT_EQ(parsed.error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.command_name, command_name);
  return std::string(parsed.error.message());
}

TEST(ParseCommandLineTest, ReadsGlobalFlagsBeforeOrAfterTheCommand) {
  ParsedCommandLine parsed =
      ParseCommandLine({"--addr", "10.0.0.1:7000", "get", "t1", "--timeout=2s",
                        "--output", "json"},
                       {});
  ASSERT_TRUE(parsed.error.ok()) << parsed.error;
  EXPECT_EQ(parsed.invocation.globals.address, "10.0.0.1:7000");
  EXPECT_EQ(parsed.invocation.globals.timeout, absl::Seconds(2));
  EXPECT_TRUE(parsed.invocation.globals.timeout_given);
  EXPECT_EQ(parsed.invocation.globals.output, OutputFormat::kJson);
  EXPECT_EQ(std::get<GetCommand>(parsed.invocation.command).task_id, "t1");
}

TEST(ParseCommandLineTest, TakesTheAddressFromTheFlagThenTheEnvironment) {
  EXPECT_EQ(ParseCommandLine({"stats"}, {}).invocation.globals.address,
            "127.0.0.1:50051");
  EXPECT_EQ(ParseCommandLine({"stats"}, {.address = "h:1"})
                .invocation.globals.address,
            "h:1");
  EXPECT_EQ(ParseCommandLine({"stats", "--addr=h:2"}, {.address = "h:1"})
                .invocation.globals.address,
            "h:2");
  GlobalOptions defaults = ParseCommandLine({"stats"}, {}).invocation.globals;
  EXPECT_EQ(defaults.timeout, absl::Seconds(10));
  EXPECT_FALSE(defaults.timeout_given);
  EXPECT_EQ(defaults.output, OutputFormat::kText);
}

// The global flags of the connection's identity, parsed with `env`.
GlobalOptions Globals(const std::vector<std::string>& args,
                      const Environment& env = {}) {
  ParsedCommandLine parsed = ParseCommandLine(args, env);
  EXPECT_TRUE(parsed.error.ok()) << parsed.error;
  return parsed.invocation.globals;
}

TEST(ParseCommandLineTest, ReadsTlsTokenAndNamespaceOnEveryCommand) {
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"stats"},
        {"get", "t1"},
        {"worker", "--queue", "q", "--", "true"}}) {
    std::vector<std::string> args = {"--tls-ca",
                                     "ca.pem",
                                     "--tls-cert",
                                     "c.pem",
                                     "--tls-key",
                                     "c.key",
                                     "--tls-server-name=corosched",
                                     "--token-file",
                                     "tok",
                                     "--namespace",
                                     "team-a"};
    // Before the command (after it too: ReadsGlobalFlagsBefore...); a
    // worker's flags end at `--`.
    args.insert(args.end(), command.begin(), command.end());
    const GlobalOptions globals = Globals(args);
    EXPECT_EQ(globals.tls_ca, "ca.pem");
    EXPECT_EQ(globals.tls_cert, "c.pem");
    EXPECT_EQ(globals.tls_key, "c.key");
    EXPECT_EQ(globals.tls_server_name, "corosched");
    EXPECT_EQ(globals.token_file, "tok");
    EXPECT_EQ(globals.token, "");
    EXPECT_EQ(globals.namespace_name, "team-a");
  }
}

TEST(ParseCommandLineTest, FlagsWinOverTheEnvironment) {
  const Environment env{.token = "env-token",
                        .namespace_name = "env-ns",
                        .tls_ca = "env-ca.pem",
                        .tls_server_name = "env-name"};
  const GlobalOptions from_env = Globals({"stats"}, env);
  EXPECT_EQ(from_env.token, "env-token");
  EXPECT_EQ(from_env.namespace_name, "env-ns");
  EXPECT_EQ(from_env.tls_ca, "env-ca.pem");
  EXPECT_EQ(from_env.tls_server_name, "env-name");
  const GlobalOptions flags =
      Globals({"stats", "--token-file", "f", "--namespace", "flag-ns",
               "--tls-ca", "flag-ca.pem", "--tls-server-name", "flag-name"},
              env);
  EXPECT_EQ(flags.token, "");  // --token-file replaces $COROSCHED_TOKEN
  EXPECT_EQ(flags.token_file, "f");
  EXPECT_EQ(flags.namespace_name, "flag-ns");
  EXPECT_EQ(flags.tls_ca, "flag-ca.pem");
  EXPECT_EQ(flags.tls_server_name, "flag-name");
  EXPECT_EQ(Globals({"stats"}, {.token_file = "/run/tok"}).token_file,
            "/run/tok");
}

TEST(ParseCommandLineTest, RefusesIdentityFlagsThatDoNotGoTogether) {
  EXPECT_THAT(
      UsageError({"stats", "--token", "a", "--token-file", "f"}, "stats"),
      HasSubstr("not both"));
  EXPECT_THAT(
      UsageError({"stats", "--tls-ca", "ca", "--tls-cert", "c"}, "stats"),
      HasSubstr("--tls-key"));
  EXPECT_THAT(
      UsageError({"stats", "--tls-cert", "c", "--tls-key", "k"}, "stats"),
      HasSubstr("need --tls-ca"));
  EXPECT_THAT(UsageError({"stats", "--namespace", "a b"}, "stats"),
              HasSubstr("--namespace"));
  EXPECT_THAT(UsageError({"stats", "--token="}, "stats"),
              HasSubstr("--token must not be empty"));
  ParsedCommandLine both =
      ParseCommandLine({"stats"}, {.token = "t", .token_file = "f"});
  EXPECT_THAT(std::string(both.error.message()),
              HasSubstr("COROSCHED_TOKEN and COROSCHED_TOKEN_FILE"));
}

TEST(ParseCommandLineTest, NeverShowsTheTokenInAnError) {
  ParsedCommandLine parsed = ParseCommandLine(
      {"stats", "--token", "hunter2-secret", "--namespace", "bad ns"}, {});
  EXPECT_FALSE(parsed.error.ok());
  EXPECT_THAT(std::string(parsed.error.message()),
              ::testing::Not(HasSubstr("hunter2")));
}

TEST(ParseCommandLineTest, ParsesSubmitWithEveryFlag) {
  SubmitCommand submit = Parse<SubmitCommand>(
      {"submit", "-f", "examples/approval.json", "--var", "item=laptop",
       "--var=n=3", "--label", "team=ops", "--id", "req-1", "--start-after",
       "1m30s", "--wait"});
  EXPECT_EQ(submit.file, "examples/approval.json");
  ASSERT_EQ(submit.inputs.size(), 2u);
  EXPECT_EQ(submit.inputs["item"].string(), "laptop");
  EXPECT_EQ(submit.inputs["n"].number(), 3);
  EXPECT_THAT(submit.labels, UnorderedElementsAre(Pair("team", "ops")));
  EXPECT_EQ(submit.task_id, "req-1");
  EXPECT_EQ(submit.start_after, absl::Seconds(90));
  EXPECT_TRUE(submit.wait);
}

TEST(ParseCommandLineTest, SubmitsARegisteredDefinitionByName) {
  SubmitCommand submit = Parse<SubmitCommand>(
      {"submit", "--definition", "approval", "--version", "1"});
  EXPECT_EQ(submit.definition_name, "approval");
  EXPECT_EQ(submit.definition_version, "1");
  EXPECT_TRUE(submit.file.empty());
  EXPECT_FALSE(submit.wait);
}

TEST(ParseCommandLineTest, RefusesSubmitWithoutExactlyOneDefinition) {
  EXPECT_THAT(UsageError({"submit"}, "submit"), HasSubstr("exactly one"));
  EXPECT_THAT(
      UsageError({"submit", "-f", "a.json", "--definition", "a"}, "submit"),
      HasSubstr("exactly one"));
  EXPECT_THAT(
      UsageError({"submit", "-f", "a.json", "--version", "1"}, "submit"),
      HasSubstr("--version goes with --definition"));
}

TEST(ParseCommandLineTest, ExplainsBadFlagValues) {
  EXPECT_EQ(UsageError({"submit", "-f", "a", "--var", "novalue"}, "submit"),
            "--var: expected NAME=VALUE, got \"novalue\"");
  EXPECT_THAT(UsageError({"submit", "-f", "a", "--start-after", "5"}, "submit"),
              HasSubstr("--start-after: expected a positive duration"));
  EXPECT_THAT(UsageError({"list", "--state", "sleepy"}, "list"),
              HasSubstr("--state: unknown task state \"sleepy\""));
  EXPECT_THAT(UsageError({"list", "--page-size", "0"}, "list"),
              HasSubstr("--page-size: expected a page size from 1 to 1000"));
  EXPECT_THAT(UsageError({"watch", "t", "--after", "-1"}, "watch"),
              HasSubstr("--after: expected an event sequence number"));
  EXPECT_THAT(UsageError({"wake", "t", "go", "--payload", "{by: 1}"}, "wake"),
              HasSubstr("--payload: malformed JSON: line 1, column 2"));
  EXPECT_THAT(UsageError({"stats", "--output", "yaml"}, "stats"),
              HasSubstr("--output: expected text or json"));
  EXPECT_THAT(UsageError({"stats", "--timeout", "soon"}, "stats"),
              HasSubstr("--timeout: expected a positive duration"));
}

TEST(ParseCommandLineTest, ParsesWakeWithPayloadAndRequestId) {
  WakeCommand wake =
      Parse<WakeCommand>({"wake", "t1", "approve", "--payload",
                          R"({"by": "ana"})", "--request-id", "r-7"});
  EXPECT_EQ(wake.task_id, "t1");
  EXPECT_EQ(wake.signal, "approve");
  ASSERT_TRUE(wake.payload.has_value());
  EXPECT_EQ(wake.payload->fields().at("by").string_value(), "ana");
  EXPECT_EQ(wake.request_id, "r-7");
  EXPECT_FALSE(Parse<WakeCommand>({"wake", "t1", "go"}).payload.has_value());
}

TEST(ParseCommandLineTest, ParsesListFilters) {
  ListCommand list = Parse<ListCommand>(
      {"list", "--state", "awaiting", "--definition", "approval", "--label",
       "a=1", "--label", "b=2", "--page-size", "5", "--page-token", "tok"});
  EXPECT_EQ(list.status, v1::TASK_STATUS_AWAITING);
  EXPECT_EQ(list.definition_name, "approval");
  EXPECT_THAT(list.labels,
              UnorderedElementsAre(Pair("a", "1"), Pair("b", "2")));
  EXPECT_EQ(list.page_size, 5);
  EXPECT_EQ(list.page_token, "tok");
  EXPECT_EQ(Parse<ListCommand>({"list"}).status, v1::TASK_STATUS_UNSPECIFIED);
}

TEST(ParseCommandLineTest, ParsesTheTaskCommands) {
  EXPECT_EQ(Parse<GetCommand>({"get", "t1"}).task_id, "t1");
  WatchCommand watch = Parse<WatchCommand>({"watch", "t1", "--after", "4"});
  EXPECT_EQ(watch.task_id, "t1");
  EXPECT_EQ(watch.after_sequence, 4u);
  CancelCommand cancel =
      Parse<CancelCommand>({"cancel", "t1", "--reason", "no longer needed"});
  EXPECT_EQ(cancel.task_id, "t1");
  EXPECT_EQ(cancel.reason, "no longer needed");
  Parse<StatsCommand>({"stats"});
  EXPECT_EQ(Parse<HealthCommand>({"health"}).service, "");
  EXPECT_EQ(Parse<HealthCommand>({"health", "corosched.v1.Scheduler"}).service,
            "corosched.v1.Scheduler");
}

TEST(ParseCommandLineTest, ParsesTheDefinitionsCommands) {
  EXPECT_EQ(Parse<RegisterDefinitionCommand>(
                {"definitions", "register", "-f", "examples/hello.json"})
                .file,
            "examples/hello.json");
  GetDefinitionCommand get =
      Parse<GetDefinitionCommand>({"definitions", "get", "approval", "1"});
  EXPECT_EQ(get.name, "approval");
  EXPECT_EQ(get.version, "1");
  EXPECT_EQ(Parse<GetDefinitionCommand>({"definitions", "get", "a"}).version,
            "");
  ListDefinitionsCommand list = Parse<ListDefinitionsCommand>(
      {"definitions", "list", "approval", "--page-size", "2"});
  EXPECT_EQ(list.name, "approval");
  EXPECT_EQ(list.page_size, 2);
  EXPECT_EQ(Parse<ListDefinitionsCommand>({"definitions", "list"}).name, "");
}

TEST(ParseCommandLineTest, RefusesWrongArgumentCounts) {
  EXPECT_EQ(UsageError({"get"}, "get"), "missing TASK_ID");
  EXPECT_EQ(UsageError({"wake", "t1"}, "wake"), "missing SIGNAL");
  EXPECT_EQ(UsageError({"wake"}, "wake"), "missing TASK_ID and SIGNAL");
  EXPECT_EQ(UsageError({"get", "t1", "t2"}, "get"),
            "unexpected argument \"t2\"");
  EXPECT_EQ(UsageError({"stats", "now"}, "stats"),
            "unexpected argument \"now\"");
  EXPECT_EQ(UsageError({"get", ""}, "get"), "TASK_ID must not be empty");
  EXPECT_EQ(UsageError({"definitions", "get"}, "definitions get"),
            "missing NAME");
  EXPECT_EQ(UsageError({"definitions", "register"}, "definitions register"),
            "give the definition's file with -f FILE");
}

TEST(ParseCommandLineTest, RefusesUnknownCommandsAndFlags) {
  EXPECT_EQ(UsageError({}), "missing the command");
  EXPECT_EQ(UsageError({"launch"}), "unknown command \"launch\"");
  EXPECT_EQ(UsageError({"definitions"}, "definitions"),
            "missing the definitions command: register, get or list");
  EXPECT_EQ(UsageError({"definitions", "delete"}, "definitions"),
            "unknown definitions command \"delete\"; expected register, get "
            "or list");
  EXPECT_EQ(UsageError({"get", "t1", "--verbose"}, "get"),
            "unknown flag --verbose for get");
  EXPECT_THAT(UsageError({"--wait", "submit"}),
              HasSubstr("unknown flag --wait (before the command"));
  EXPECT_EQ(UsageError({"get", "t1", "-x"}, "get"), "unknown flag -x for get");
}

TEST(ParseCommandLineTest, RefusesMisusedFlags) {
  EXPECT_EQ(UsageError({"get", "t1", "--addr"}, "get"), "--addr needs a value");
  EXPECT_EQ(UsageError({"submit", "-f", "a", "--wait=yes"}, "submit"),
            "--wait takes no value");
  EXPECT_EQ(UsageError({"submit", "-f", "a", "-f", "b"}, "submit"),
            "--file is given more than once");
  EXPECT_EQ(UsageError({"submit", "-f", "a", "--id="}, "submit"),
            "--id: the task id must not be empty");
}

TEST(ParseCommandLineTest, TreatsWordsAfterDoubleDashAsArguments) {
  EXPECT_EQ(Parse<GetCommand>({"get", "--", "--odd-id"}).task_id, "--odd-id");
  EXPECT_EQ(Parse<CancelCommand>({"cancel", "t", "--reason", "--x"}).reason,
            "--x");
}

TEST(ParseCommandLineTest, FindsHelpAnywhere) {
  EXPECT_EQ(Parse<HelpCommand>({"--help"}).topic, "");
  EXPECT_EQ(Parse<HelpCommand>({"help"}).topic, "");
  EXPECT_EQ(Parse<HelpCommand>({"help", "wake"}).topic, "wake");
  EXPECT_EQ(Parse<HelpCommand>({"submit", "-f", "x", "-h"}).topic, "submit");
  EXPECT_EQ(Parse<HelpCommand>({"definitions", "get", "--help"}).topic,
            "definitions get");
  // Help wins over mistakes elsewhere on the line.
  EXPECT_EQ(Parse<HelpCommand>({"list", "--bogus", "--help"}).topic, "list");
  Parse<VersionCommand>({"--version"});
}

TEST(ParseCommandLineTest, ReadsAWorkerAndItsCommand) {
  WorkerCommand worker =
      Parse<WorkerCommand>({"worker", "--queue", "jobs", "--concurrency=4",
                            "--identity", "box-1", "--poll", "--kill-grace",
                            "2s", "--", "sh", "-c", "cat --help", "--queue"});
  EXPECT_EQ(worker.queue, "jobs");
  EXPECT_EQ(worker.concurrency, 4);
  EXPECT_EQ(worker.identity, "box-1");
  EXPECT_TRUE(worker.poll);
  EXPECT_EQ(worker.kill_grace, absl::Seconds(2));
  // After --, nothing is a flag of ours, not even --help.
  EXPECT_THAT(worker.command,
              testing::ElementsAre("sh", "-c", "cat --help", "--queue"));

  WorkerCommand defaults = Parse<WorkerCommand>(
      {"--addr", "h:1", "worker", "--queue", "q", "--", "./job.sh"});
  EXPECT_EQ(defaults.concurrency, 1);
  EXPECT_EQ(defaults.identity, "");
  EXPECT_FALSE(defaults.poll);
  EXPECT_EQ(defaults.kill_grace, absl::Seconds(10));
  EXPECT_THAT(defaults.command, testing::ElementsAre("./job.sh"));
}

TEST(ParseCommandLineTest, RefusesAWorkerWithoutWhatItNeeds) {
  EXPECT_THAT(UsageError({"worker", "--", "job.sh"}, "worker"),
              HasSubstr("--queue Q"));
  EXPECT_THAT(UsageError({"worker", "--queue", "q"}, "worker"),
              HasSubstr("after --"));
  EXPECT_THAT(UsageError({"worker", "--queue", "q", "--"}, "worker"),
              HasSubstr("after --"));
  EXPECT_THAT(UsageError({"worker", "--queue", "q", "job.sh"}, "worker"),
              HasSubstr("unexpected argument \"job.sh\" (COMMAND and its "
                        "arguments go after --)"));
  for (const char* concurrency : {"0", "257", "two", "-1"}) {
    EXPECT_THAT(UsageError({"worker", "--queue", "q", "--concurrency",
                            concurrency, "--", "x"},
                           "worker"),
                HasSubstr("--concurrency: expected how many items to run at "
                          "once, from 1 to 256"))
        << concurrency;
  }
  EXPECT_THAT(UsageError({"worker", "--queue", "q", "--identity",
                          std::string(257, 'i'), "--", "x"},
                         "worker"),
              HasSubstr("--identity: at most 256 bytes"));
  EXPECT_THAT(
      UsageError({"worker", "--queue", "q", "--kill-grace", "soon", "--", "x"},
                 "worker"),
      HasSubstr("--kill-grace: expected a positive duration"));
  EXPECT_THAT(UsageError({"worker", "--queue", "a", "--queue", "b", "--", "x"},
                         "worker"),
              HasSubstr("--queue is given more than once"));
}

TEST(ParseCommandLineTest, FindsWorkerHelpOnlyBeforeTheCommand) {
  EXPECT_EQ(Parse<HelpCommand>({"worker", "--help"}).topic, "worker");
  EXPECT_THAT(
      Parse<WorkerCommand>({"worker", "--queue", "q", "--", "job.sh", "--help"})
          .command,
      testing::ElementsAre("job.sh", "--help"));
}

}  // namespace
}  // namespace corosched::cli
