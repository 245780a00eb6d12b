#include "client/cli/usage.h"

#include "absl/strings/str_cat.h"

namespace corosched::cli {
namespace {

struct CommandUsage {
  absl::string_view name;
  absl::string_view synopsis;  // after "corosched "
  absl::string_view details;   // flags and notes, may be empty
};

constexpr CommandUsage kCommands[] = {
    {"submit",
     "submit (-f FILE | --definition NAME [--version V]) [--var K=V]... "
     "[--label K=V]... [--id ID] [--start-after DURATION] [--wait]",
     "  Submits a task and prints its id.\n"
     "  -f, --file FILE         task definition as JSON (sent inline)\n"
     "  --definition NAME       a registered definition; --version V picks "
     "one\n"
     "                          (default: the latest)\n"
     "  --var K=V               input variable; V is a number, true/false, "
     "or text;\n"
     "                          quote it to force text: --var 'zip=\"01234\"'\n"
     "  --label K=V             label to filter `list` by\n"
     "  --id ID                 client-chosen task id: submitting the same "
     "request\n"
     "                          again returns the same task\n"
     "  --start-after DURATION  do not start before this delay (10s, 5m)\n"
     "  --wait                  print the task's output live and exit with "
     "it:\n"
     "                          0 completed, 1 failed or cancelled\n"},
    {"wake", "wake TASK_ID SIGNAL [--payload JSON] [--request-id R]",
     "  Sends a wake signal and prints the receipt: consumed (the task was\n"
     "  awaiting it) or buffered (kept until the task awaits it).\n"
     "  --payload JSON          object whose fields land in the task's "
     "variables,\n"
     "                          e.g. '{\"by\": \"ana\"}'\n"
     "  --request-id R          de-duplicates retries: a repeated R is not\n"
     "                          delivered again\n"},
    {"get", "get TASK_ID", "  Prints one task in full.\n"},
    {"list",
     "list [--state S] [--definition NAME] [--label K=V]... [--page-size N] "
     "[--page-token T]",
     "  Lists tasks, newest first, one per line.\n"
     "  --state S               ready, sleeping, awaiting, completed, "
     "failed,\n"
     "                          cancelled\n"
     "  --definition NAME       only tasks of this definition\n"
     "  --label K=V             only tasks with every such label\n"
     "  --page-size N           at most N tasks (1-1000; default 50)\n"
     "  --page-token T          the next page, as printed after a full page\n"},
    {"watch", "watch TASK_ID [--after SEQ]",
     "  Prints the task's output live and exits when it ends: 0 completed,\n"
     "  1 failed or cancelled.\n"
     "  --after SEQ             only events after sequence number SEQ\n"},
    {"cancel", "cancel TASK_ID [--reason R]",
     "  Cancels the task (an ended task is returned as it is).\n"},
    {"definitions register", "definitions register -f FILE",
     "  Registers a definition under its name and version.\n"},
    {"definitions get", "definitions get NAME [VERSION]",
     "  Prints a registered definition (default: the latest version).\n"},
    {"definitions list",
     "definitions list [NAME] [--page-size N] [--page-token T]",
     "  Lists registered definitions, or NAME's versions.\n"},
    {"stats", "stats", "  Prints queue depth, tasks by state and admission.\n"},
    {"health", "health [SERVICE]",
     "  Prints the daemon's health: SERVING (exit 0) or NOT_SERVING (exit "
     "3).\n"},
};

constexpr absl::string_view kGlobal =
    "Global flags (before or after the command):\n"
    "  --addr HOST:PORT        the daemon (default $COROSCHED_ADDR, else\n"
    "                          127.0.0.1:50051)\n"
    "  --timeout DURATION      deadline of each call (default 10s; watch and\n"
    "                          submit --wait wait without one unless given)\n"
    "  --output text|json      json: protobuf JSON, one object per line\n"
    "Exit codes: 0 success, 1 failed task or error, 2 usage, 3 unavailable\n"
    "or retryable, 4 not found.\n";

}  // namespace

std::string UsageText(absl::string_view command) {
  for (const CommandUsage& usage : kCommands) {
    if (usage.name == command) {
      return absl::StrCat("usage: corosched ", usage.synopsis, "\n",
                          usage.details, "\n", kGlobal);
    }
  }
  std::string text = "usage: corosched COMMAND [ARGS] [FLAGS]\n\nCommands:\n";
  for (const CommandUsage& usage : kCommands) {
    absl::StrAppend(&text, "  corosched ", usage.synopsis, "\n");
  }
  absl::StrAppend(&text, "  corosched help [COMMAND]\n\n", kGlobal,
                  "See docs/cli.md.\n");
  return text;
}

}  // namespace corosched::cli
