#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/cli/args.h"

namespace corosched::cli {

// The table of commands ParseCommandLine reads: each command's flags and
// positional arguments, and how its typed Command is built from them. Used
// only by args.cc.

struct FlagSpec {
  absl::string_view name;  // without the dashes
  bool takes_value = true;
  bool repeated = false;
};

// A command's positionals and flags as written, before their values are
// read.
struct RawCommand {
  std::vector<std::string> positionals;
  // Flag name -> its values in order; a flag without a value has one "".
  std::map<std::string, std::vector<std::string>, std::less<>> flags;

  bool Has(absl::string_view flag) const { return flags.contains(flag); }
  // The flag's last value; "" when absent.
  std::string Get(absl::string_view flag) const;
  std::vector<std::string> All(absl::string_view flag) const;
};

struct CommandSpec {
  absl::string_view name;  // "submit", "definitions register"
  std::vector<FlagSpec> flags;
  // Names of the positional arguments, for messages; the first
  // `required_positionals` must be given, at most all of them may be.
  std::vector<absl::string_view> positionals;
  size_t required_positionals = 0;
  // Reads the values; INVALID_ARGUMENT names the flag at fault.
  // REQUIRES: the positional count is within bounds.
  absl::StatusOr<Command> (*build)(const RawCommand&) = nullptr;
};

// Every command; a two-word name ("definitions get") is one command.
const std::vector<CommandSpec>& Commands();

// Null when `name` is not a command.
const CommandSpec* FindCommand(absl::string_view name);

// A global flag (--addr, --timeout, --output) or one of `command`'s (which
// may be null); null when neither.
const FlagSpec* FindFlag(const CommandSpec* command, absl::string_view name);

}  // namespace corosched::cli
