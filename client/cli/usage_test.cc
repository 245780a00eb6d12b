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
      "Exit codes: 0 success, 1 failed task or error, 2 usage, 3 unavailable\n"
      "or retryable, 4 not found.\n");
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
