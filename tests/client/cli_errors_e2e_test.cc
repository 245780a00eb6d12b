// The `corosched` tool against a real daemon: exit codes, bad input, and the
// daemon's own state (stats, health).

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cli_e2e_fixture.h"

namespace corosched::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using CliErrorsTest = CliE2eTest;

// A loopback address nothing listens on: port 1 is privileged and never
// served where tests run.
std::string DeadAddress() { return "127.0.0.1:1"; }

TEST_F(CliErrorsTest, HealthSaysServing) {
  CliResult health = Cli({"health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
  CliResult json = Cli({"health", "--output", "json"});
  EXPECT_EQ(json.out, "{\"status\":\"SERVING\"}\n");
}

TEST_F(CliErrorsTest, StatsShowTheQueue) {
  CliResult stats = Cli({"stats"});
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_THAT(stats.out, AllOf(StartsWith("run queue depth: "),
                               HasSubstr("\nworkers:         "),
                               HasSubstr("\nadmission:       "),
                               HasSubstr("\ntasks:           ")));
  CliResult json = Cli({"stats", "--output", "json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  v1::QueueStats parsed;
  ASSERT_TRUE(ParseJson(json.out, &parsed));
  EXPECT_GT(parsed.workers(), 0u);
  EXPECT_GT(parsed.admission_capacity(), 0u);
}

TEST_F(CliErrorsTest, AnUnknownTaskExitsFour) {
  for (const char* command : {"get", "watch", "cancel"}) {
    CliResult result = Cli({command, "no-such-task"});
    EXPECT_EQ(result.exit_code, 4) << command << ": " << result.err;
    EXPECT_THAT(result.err, HasSubstr("NOT_FOUND")) << command;
    EXPECT_THAT(result.out, IsEmpty()) << command;
  }
  CliResult wake = Cli({"wake", "no-such-task", "approve"});
  EXPECT_EQ(wake.exit_code, 4) << wake.err;
  CliResult definition = Cli({"definitions", "get", "no-such-definition"});
  EXPECT_EQ(definition.exit_code, 4) << definition.err;
}

TEST_F(CliErrorsTest, NoDaemonExitsThreeAndSaysWhereItLooked) {
  for (const char* command : {"health", "stats"}) {
    CliResult result = BareCli({"--addr", DeadAddress(), command});
    EXPECT_EQ(result.exit_code, 3) << command << ": " << result.err;
    EXPECT_THAT(result.err,
                AllOf(HasSubstr("UNAVAILABLE"),
                      HasSubstr("is corosched-server running at 127.0.0.1:1")));
  }
  // COROSCHED_ADDR is where the tool looks without --addr.
  CliResult from_env = BareCli({"get", "x"}, absl::Seconds(30),
                               {"COROSCHED_ADDR=" + DeadAddress()});
  EXPECT_EQ(from_env.exit_code, 3) << from_env.err;
  EXPECT_THAT(from_env.err, HasSubstr("127.0.0.1:1"));
}

TEST_F(CliErrorsTest, TheEnvironmentNamesTheDaemon) {
  CliResult health =
      BareCli({"health"}, absl::Seconds(30), {"COROSCHED_ADDR=" + address()});
  EXPECT_EQ(health.exit_code, 0) << health.err;
}

TEST_F(CliErrorsTest, BadUsageExitsTwoWithTheProblemAndTheUsage) {
  CliResult result = Cli({"wake", "only-an-id"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err,
              AllOf(StartsWith("corosched: wake: missing SIGNAL\n"),
                    HasSubstr("usage: corosched wake TASK_ID SIGNAL")));
  EXPECT_THAT(result.out, IsEmpty());

  EXPECT_EQ(Cli({"launch"}).exit_code, 2);
  EXPECT_EQ(
      Cli({"submit", "-f", Example("hello.json"), "--var", "x"}).exit_code, 2);
  EXPECT_EQ(Cli({"list", "--state", "sleepy"}).exit_code, 2);
}

TEST_F(CliErrorsTest, AMalformedJsonFileExitsOneNamingTheProblem) {
  const std::string broken = WriteFile("broken.json",
                                       "{\"name\": \"broken\",\n"
                                       " \"initial\": \"A\"\n"
                                       " \"states\": {}}\n");
  CliResult result = Cli({"submit", "-f", broken});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(
      result.err,
      HasSubstr(broken + ": malformed JSON: line 3, column 2: expected ',' or "
                         "'}' after an object member"));

  CliResult missing = Cli({"submit", "-f", "/no/such/definition.json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/no/such/definition.json: no such file"));
}

TEST_F(CliErrorsTest, AnInvalidDefinitionExitsOneWithTheServersFieldPath) {
  const std::string invalid = WriteFile("invalid.json", R"({
    "name": "invalid", "initial": "START",
    "states": {"START": {"yield": {"next": "NOWHERE"}}}})");
  CliResult result = Cli({"submit", "-f", invalid});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, AllOf(HasSubstr("INVALID_ARGUMENT"),
                                HasSubstr("states[\"START\"].yield.next")));

  CliResult registered = Cli({"definitions", "register", "-f", invalid});
  EXPECT_EQ(registered.exit_code, 1);
  EXPECT_THAT(registered.err, HasSubstr("INVALID_ARGUMENT"));
  // The daemon is still fine.
  EXPECT_EQ(Cli({"health"}).exit_code, 0);
}

TEST_F(CliErrorsTest, AFieldThatIsNotInTheLanguageIsCaughtBeforeSending) {
  const std::string typo = WriteFile("typo.json", R"({
    "name": "typo", "initial": "A", "states": {"A": {"compelte": {}}}})");
  CliResult result = Cli({"submit", "-f", typo});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err,
              AllOf(HasSubstr("not a task definition"), HasSubstr("compelte")));
}

TEST_F(CliErrorsTest, HelpGoesToStdoutAndExitsZero) {
  CliResult help = BareCli({"help", "submit"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, StartsWith("usage: corosched submit "));
  EXPECT_THAT(help.err, IsEmpty());
}

}  // namespace
}  // namespace corosched::testing
