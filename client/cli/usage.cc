#include "client/cli/usage.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/cli/command_specs.h"

namespace corosched::cli {
namespace {

// Where a flag's help starts, and so where its further lines are indented.
constexpr size_t kHelpColumn = 26;

constexpr absl::string_view kExitCodes =
    "Exit codes: 0 success, 1 failed task or error, 2 usage, 3 unavailable\n"
    "or retryable, 4 not found, 5 unauthenticated or permission denied.\n";

// Each line of `text` after `indent` spaces.
void AppendIndented(absl::string_view text, size_t indent, std::string* out) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::StrAppend(out, std::string(indent, ' '), line, "\n");
  }
}

// "  -f, --file FILE         task definition as JSON (sent inline)", its
// further help lines under the first; nothing for a flag without help.
void AppendFlag(const FlagSpec& flag, std::string* out) {
  if (flag.help.empty()) return;
  std::string left = "  ";
  if (flag.short_name != '\0') {
    absl::StrAppend(&left, "-", absl::string_view(&flag.short_name, 1), ", ");
  }
  absl::StrAppend(&left, "--", flag.name);
  if (!flag.value_name.empty()) absl::StrAppend(&left, " ", flag.value_name);
  left.resize(std::max(left.size() + 2, kHelpColumn), ' ');
  const size_t first_line = flag.help.find('\n');
  absl::StrAppend(out, left, flag.help.substr(0, first_line), "\n");
  if (first_line != absl::string_view::npos) {
    AppendIndented(flag.help.substr(first_line + 1), kHelpColumn, out);
  }
}

std::string GlobalHelp() {
  std::string text = "Global flags (before or after the command):\n";
  for (const FlagSpec& flag : GlobalFlags()) AppendFlag(flag, &text);
  absl::StrAppend(&text, kExitCodes);
  return text;
}

}  // namespace

std::string UsageText(absl::string_view command) {
  if (const CommandSpec* spec = FindCommand(command)) {
    std::string text = absl::StrCat("usage: corosched ", spec->synopsis, "\n");
    AppendIndented(spec->summary, 2, &text);
    for (const FlagSpec& flag : spec->flags) AppendFlag(flag, &text);
    absl::StrAppend(&text, "\n", GlobalHelp());
    return text;
  }
  std::string text = "usage: corosched COMMAND [ARGS] [FLAGS]\n\nCommands:\n";
  for (const CommandSpec& spec : Commands()) {
    absl::StrAppend(&text, "  corosched ", spec.synopsis, "\n");
  }
  absl::StrAppend(&text, "  corosched help [COMMAND]\n\n", GlobalHelp(),
                  "See docs/cli.md.\n");
  return text;
}

}  // namespace corosched::cli
