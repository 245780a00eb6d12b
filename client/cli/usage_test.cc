#include "client/cli/usage.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "client/cli/command_specs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(UsageTextTest, ACommandShowsItsSynopsisSummaryFlagsAndTheGlobalFlags) {
  EXPECT_EQ(
      UsageText("wake"),
      "usage: corosched wake TASK_ID SIGNAL [--payload JSON] [--request-id R]\n"
      "  Sends a wake signal and prints the receipt: consumed (the task was\n"
      "  awaiting it) or buffered (kept until the task awaits it).\n"
      "  --payload JSON          object whose fields land in the task's "
      "variables,\n"
      "                          e.g. '{\"by\": \"ana\"}'\n"
      "  --request-id R          de-duplicates retries: a repeated R is not\n"
      "                          delivered again\n"
      "\n"
      "Global flags (before or after the command):\n"
      "  --addr HOST:PORT        the daemon (default $COROSCHED_ADDR, else\n"
      "                          127.0.0.1:50051)\n"
      "  --timeout DURATION      deadline of each call (default 10s; watch "
      "and\n"
      "                          submit --wait wait without one unless given)\n"
      "  --output text|json      json: protobuf JSON, one object per line\n"
      "  --namespace NS          the namespace to act in (default "
      "$COROSCHED_NAMESPACE,\n"
      "                          else the daemon's \"default\")\n"
      "  --token-file FILE       send the bearer token in FILE (default\n"
      "                          $COROSCHED_TOKEN_FILE)\n"
      "  --token TOKEN           send TOKEN as the bearer token (default\n"
      "                          $COROSCHED_TOKEN; other users may see a flag "
      "in ps:\n"
      "                          prefer --token-file or the variable)\n"
      "  --tls-ca FILE           use TLS, trusting the CA certificates in "
      "FILE\n"
      "                          (PEM; default $COROSCHED_TLS_CA; without it:\n"
      "                          plaintext)\n"
      "  --tls-cert FILE         with --tls-key: the client certificate (PEM)\n"
      "                          for a daemon that requires one (mTLS)\n"
      "  --tls-key FILE          the client certificate's private key (PEM)\n"
      "  --tls-server-name NAME  the name the daemon's certificate must carry, "
      "if\n"
      "                          not --addr's host (default\n"
      "                          $COROSCHED_TLS_SERVER_NAME)\n"
      "Exit codes: 0 success, 1 failed task or error, 2 usage, 3 unavailable\n"
      "or retryable, 4 not found, 5 unauthenticated or permission denied.\n");
}

TEST(UsageTextTest, AShortAliasIsShownBeforeTheFlag) {
  EXPECT_THAT(UsageText("submit"),
              HasSubstr("\n  -f, --file FILE         task definition as JSON "
                        "(sent inline)\n"));
}

TEST(UsageTextTest, TheToolsUsageListsEveryCommand) {
  const std::string usage = UsageText("");
  EXPECT_THAT(usage, StartsWith("usage: corosched COMMAND [ARGS] [FLAGS]\n"));
  for (const CommandSpec& spec : Commands()) {
    EXPECT_THAT(usage,
                HasSubstr(absl::StrCat("\n  corosched ", spec.synopsis, "\n")));
  }
  EXPECT_THAT(usage, EndsWith("See docs/cli.md.\n"));
  EXPECT_EQ(UsageText("no-such-command"), usage);
}

}  // namespace
}  // namespace corosched::cli
