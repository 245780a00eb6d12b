#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/cli/args.h"

namespace corosched::cli {

// The table of commands, the one place a command or a flag is declared: each
// command's flags and positional arguments and how its typed Command is
// built from them (read by ParseCommandLine, args.cc), with the text that
// explains them (read by UsageText, usage.cc).

struct FlagSpec {
  absl::string_view name;  // without the dashes
  bool takes_value = true;
  bool repeated = false;
  // A one-letter alias written with one dash ("-f"), or '\0'.
  char short_name = '\0';
  // For the usage text: what the value is called ("FILE"), and the help,
  // one line per '\n'. A flag without help gets no line of its own; its
  // command's synopsis shows it.
  absl::string_view value_name;
  absl::string_view help;
};

// A command's positionals and flags as written, before their values are
// read.
struct RawCommand {
  std::vector<std::string> positionals;
  // Flag name -> its values in order; a flag without a value has one "".
  std::map<std::string, std::vector<std::string>, std::less<>> flags;
  // For a command that takes_command: every word after `--`, as written.
  std::vector<std::string> command;

  bool Has(absl::string_view flag) const { return flags.contains(flag); }
  // The flag's last value; "" when absent.
  std::string Get(absl::string_view flag) const;
  std::vector<std::string> All(absl::string_view flag) const;
};

struct CommandSpec {
  absl::string_view name;  // "submit", "definitions register"
  // For the usage text: the command line after "corosched ", naming every
  // flag and positional (a test checks), and what the command does, one
  // line per '\n'.
  absl::string_view synopsis;
  absl::string_view summary;
  std::vector<FlagSpec> flags;
  // Names of the positional arguments, for messages; the first
  // `required_positionals` must be given, at most all of them may be.
  std::vector<absl::string_view> positionals;
  size_t required_positionals = 0;
  // The words after `--` are a program to run and its arguments (`worker`),
  // not more positionals or flags.
  bool takes_command = false;
  // Reads the values; INVALID_ARGUMENT names the flag at fault.
  // REQUIRES: the positional count is within bounds.
  absl::StatusOr<Command> (*build)(const RawCommand&) = nullptr;
};

// Every command; a two-word name ("definitions get") is one command.
const std::vector<CommandSpec>& Commands();

// Null when `name` is not a command.
const CommandSpec* FindCommand(absl::string_view name);

// The flags every command accepts: --addr, --timeout, --output.
const std::vector<FlagSpec>& GlobalFlags();

// A global flag or one of `command`'s (which may be null) called `name`, or
// whose one-letter alias is `short_name`; null when neither.
const FlagSpec* FindFlag(const CommandSpec* command, absl::string_view name);
const FlagSpec* FindShortFlag(const CommandSpec* command, char short_name);

}  // namespace corosched::cli
