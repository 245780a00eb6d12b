#include "client/cli/args.h"

#include <cstddef>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/cli/command_specs.h"
#include "client/cli/values.h"
#include "client/connection.h"

namespace corosched::cli {
namespace {

absl::Status Usage(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

bool IsHelpFlag(absl::string_view arg) {
  return arg == "-h" || arg == "--help";
}

// A word that names a flag rather than a value: "-f", "--x", "--x=1";
// "-" alone (stdin, by convention) and negative numbers are values.
bool IsFlag(absl::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  return !(arg[1] >= '0' && arg[1] <= '9');
}

// "register, get or list": the words that may follow "definitions".
std::string DefinitionsCommands() {
  std::vector<absl::string_view> words;
  for (const CommandSpec& spec : Commands()) {
    absl::string_view word = spec.name;
    if (absl::ConsumePrefix(&word, "definitions ")) words.push_back(word);
  }
  if (words.size() < 2) return absl::StrJoin(words, "");
  return absl::StrCat(absl::StrJoin(words.begin(), words.end() - 1, ", "),
                      " or ", words.back());
}

// The command named by `words` (one word, or "definitions" and a second),
// as far as it is known: sets *spec when complete.
absl::Status ResolveCommand(const std::vector<std::string>& words,
                            std::string* name, const CommandSpec** spec) {
  if (words.empty()) return absl::OkStatus();
  *name = words[0];
  if (words[0] == "definitions") {
    if (words.size() < 2) return absl::OkStatus();
    *name = absl::StrCat("definitions ", words[1]);
    *spec = FindCommand(*name);
    if (*spec == nullptr) {
      *name = "definitions";
      return Usage(absl::StrCat("unknown definitions command \"", words[1],
                                "\"; expected ", DefinitionsCommands()));
    }
    return absl::OkStatus();
  }
  *spec = FindCommand(*name);
  if (*spec == nullptr) {
    name->clear();
    return Usage(absl::StrCat("unknown command \"", words[0], "\""));
  }
  return absl::OkStatus();
}

// Splits `args` into the command's words, its positionals and every flag
// (global ones included) with their values.
class Scanner {
 public:
  Scanner(const std::vector<std::string>& args, ParsedCommandLine* parsed)
      : args_(args), parsed_(parsed) {}

  absl::Status Scan(RawCommand* raw) {
    bool flags_ended = false;
    for (size_t i = 0; i < args_.size(); ++i) {
      const std::string& arg = args_[i];
      if (!flags_ended && arg == "--") {
        flags_ended = true;
        if (spec_ != nullptr && spec_->takes_command) {
          raw->command.assign(args_.begin() + static_cast<ptrdiff_t>(i) + 1,
                              args_.end());
          return absl::OkStatus();
        }
      } else if (!flags_ended && IsFlag(arg)) {
        absl::Status status = Flag(&i, raw);
        if (!status.ok()) return status;
      } else if (spec_ == nullptr) {
        words_.push_back(arg);
        absl::Status status =
            ResolveCommand(words_, &parsed_->command_name, &spec_);
        if (!status.ok()) return status;
      } else {
        raw->positionals.push_back(arg);
      }
    }
    return absl::OkStatus();
  }

  const CommandSpec* spec() const { return spec_; }

 private:
  absl::Status Flag(size_t* i, RawCommand* raw) {
    absl::string_view arg = args_[*i];
    std::string name;
    std::optional<std::string> value;
    if (arg.size() == 2 && arg[1] != '-') {  // "-f"
      const FlagSpec* flag = FindShortFlag(spec_, arg[1]);
      if (flag == nullptr) return UnknownFlag(arg);
      name = std::string(flag->name);
    } else if (absl::ConsumePrefix(&arg, "--")) {
      const size_t equals = arg.find('=');
      name = std::string(arg.substr(0, equals));
      if (equals != absl::string_view::npos) {
        value = std::string(arg.substr(equals + 1));
      }
    } else {
      return UnknownFlag(arg);
    }
    const FlagSpec* flag = FindFlag(spec_, name);
    if (flag == nullptr) return UnknownFlag(args_[*i]);
    if (!flag->takes_value && value.has_value()) {
      return Usage(absl::StrCat("--", name, " takes no value"));
    }
    if (flag->takes_value && !value.has_value()) {
      if (*i + 1 >= args_.size()) {
        return Usage(absl::StrCat("--", name, " needs a value"));
      }
      value = args_[++*i];
    }
    std::vector<std::string>& values = raw->flags[name];
    if (!values.empty() && !flag->repeated) {
      return Usage(absl::StrCat("--", name, " is given more than once"));
    }
    values.push_back(value.value_or(""));
    return absl::OkStatus();
  }

  absl::Status UnknownFlag(absl::string_view arg) const {
    if (spec_ == nullptr) {
      std::vector<std::string> globals;
      for (const FlagSpec& flag : GlobalFlags()) {
        globals.push_back(absl::StrCat("--", flag.name));
      }
      return Usage(absl::StrCat("unknown flag ", arg,
                                " (before the command, only the global flags ",
                                absl::StrJoin(globals, " "), " are accepted)"));
    }
    return Usage(absl::StrCat("unknown flag ", arg, " for ", spec_->name));
  }

  const std::vector<std::string>& args_;
  ParsedCommandLine* parsed_;
  std::vector<std::string> words_;
  const CommandSpec* spec_ = nullptr;
};

// The flag's value if given (and then not empty), else `fallback`.
absl::StatusOr<std::string> FlagOr(const RawCommand& raw,
                                   absl::string_view flag,
                                   const std::string& fallback) {
  if (!raw.Has(flag)) return fallback;
  std::string value = raw.Get(flag);
  if (value.empty()) {
    return Usage(absl::StrCat("--", flag, " must not be empty"));
  }
  return value;
}

// TLS, token and namespace: flags, else the environment.
absl::Status ReadIdentity(const RawCommand& raw, const Environment& env,
                          GlobalOptions* globals) {
  struct Field {
    absl::string_view flag;
    std::string fallback;
    std::string* value;
  };
  const bool token_flag = raw.Has("token") || raw.Has("token-file");
  if (!token_flag && !env.token.empty() && !env.token_file.empty()) {
    return Usage(
        "COROSCHED_TOKEN and COROSCHED_TOKEN_FILE are both set; unset one "
        "(or give --token-file)");
  }
  for (const Field& field : {
           Field{"tls-ca", env.tls_ca, &globals->tls_ca},
           Field{"tls-cert", "", &globals->tls_cert},
           Field{"tls-key", "", &globals->tls_key},
           Field{"tls-server-name", env.tls_server_name,
                 &globals->tls_server_name},
           Field{"token", token_flag ? "" : env.token, &globals->token},
           Field{"token-file", token_flag ? "" : env.token_file,
                 &globals->token_file},
           Field{"namespace", env.namespace_name, &globals->namespace_name},
       }) {
    absl::StatusOr<std::string> value = FlagOr(raw, field.flag, field.fallback);
    if (!value.ok()) return value.status();
    *field.value = *std::move(value);
  }
  if (raw.Has("token") && raw.Has("token-file")) {
    return Usage("give the token as --token or --token-file, not both");
  }
  if (globals->tls_cert.empty() != globals->tls_key.empty()) {
    return Usage(
        "--tls-cert and --tls-key go together (the client "
        "certificate and its key)");
  }
  if (globals->tls_ca.empty() &&
      (!globals->tls_cert.empty() || !globals->tls_server_name.empty())) {
    return Usage(
        "--tls-cert, --tls-key and --tls-server-name need --tls-ca (the CA "
        "that verifies the daemon; TLS is on only with it)");
  }
  if (!globals->namespace_name.empty()) {
    if (absl::Status valid = ValidateNamespaceName(globals->namespace_name);
        !valid.ok()) {
      return Usage(absl::StrCat("--namespace: ", valid.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadGlobals(const RawCommand& raw, const Environment& env,
                         GlobalOptions* globals) {
  globals->address = raw.Has("addr")        ? raw.Get("addr")
                     : !env.address.empty() ? env.address
                                            : std::string(kDefaultAddress);
  if (globals->address.empty()) return Usage("--addr must not be empty");
  if (raw.Has("timeout")) {
    auto timeout = ParseDuration(raw.Get("timeout"));
    if (!timeout.ok()) {
      return Usage(absl::StrCat("--timeout: ", timeout.status().message()));
    }
    globals->timeout = *timeout;
    globals->timeout_given = true;
  }
  const std::string output = raw.Get("output");
  if (output == "json") {
    globals->output = OutputFormat::kJson;
  } else if (!output.empty() && output != "text") {
    return Usage(
        absl::StrCat("--output: expected text or json, got \"", output, "\""));
  }
  return ReadIdentity(raw, env, globals);
}

absl::Status CheckPositionals(const CommandSpec& spec,
                              const std::vector<std::string>& positionals) {
  if (positionals.size() < spec.required_positionals) {
    std::vector<absl::string_view> missing;
    for (size_t i = positionals.size(); i < spec.required_positionals; ++i) {
      missing.push_back(spec.positionals[i]);
    }
    return Usage(absl::StrCat("missing ", absl::StrJoin(missing, " and ")));
  }
  if (positionals.size() > spec.positionals.size()) {
    return Usage(absl::StrCat(
        "unexpected argument \"", positionals[spec.positionals.size()], "\"",
        spec.takes_command ? " (COMMAND and its arguments go after --)" : ""));
  }
  for (size_t i = 0; i < positionals.size(); ++i) {
    if (positionals[i].empty()) {
      return Usage(absl::StrCat(spec.positionals[i], " must not be empty"));
    }
  }
  return absl::OkStatus();
}

// `help [COMMAND]`, or -h/--help anywhere before `--`: the topic is the
// command named, as far as it is a real one.
std::optional<HelpCommand> FindHelp(const std::vector<std::string>& args) {
  std::vector<std::string> words;
  bool asked = false;
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (IsHelpFlag(arg)) asked = true;
    if (!IsFlag(arg)) words.push_back(arg);
  }
  if (!words.empty() && words[0] == "help") {
    asked = true;
    words.erase(words.begin());
  }
  if (!asked) return std::nullopt;
  if (words.empty()) return HelpCommand{};
  if (words[0] == "definitions" && words.size() > 1 &&
      FindCommand("definitions " + words[1]) != nullptr) {
    return HelpCommand{.topic = "definitions " + words[1]};
  }
  return HelpCommand{.topic = words[0]};
}

}  // namespace

ParsedCommandLine ParseCommandLine(const std::vector<std::string>& args,
                                   const Environment& env) {
  ParsedCommandLine parsed;
  if (std::optional<HelpCommand> help = FindHelp(args)) {
    parsed.command_name = help->topic;
    parsed.invocation.command = *help;
    return parsed;
  }
  if (args.size() == 1 && args[0] == "--version") {
    parsed.invocation.command = VersionCommand{};
    return parsed;
  }
  RawCommand raw;
  Scanner scanner(args, &parsed);
  parsed.error = scanner.Scan(&raw);
  if (parsed.error.ok()) {
    parsed.error = ReadGlobals(raw, env, &parsed.invocation.globals);
  }
  if (parsed.error.ok() && scanner.spec() == nullptr) {
    parsed.error = Usage(parsed.command_name == "definitions"
                             ? absl::StrCat("missing the definitions command: ",
                                            DefinitionsCommands())
                             : "missing the command");
  }
  if (parsed.error.ok()) {
    parsed.error = CheckPositionals(*scanner.spec(), raw.positionals);
  }
  if (!parsed.error.ok()) return parsed;
  absl::StatusOr<Command> command = scanner.spec()->build(raw);
  if (!command.ok()) {
    parsed.error = command.status();
    return parsed;
  }
  parsed.invocation.command = *std::move(command);
  return parsed;
}

}  // namespace corosched::cli
