// corosched: the command-line client of the Corosched daemon. See
// docs/cli.md, or run `corosched help`.

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/args.h"
#include "client/cli/commands.h"
#include "client/cli/usage.h"
#include "grpc/support/log.h"

namespace {

// gRPC logs connection trouble to stderr itself; the tool reports every
// failure as a status already, so stay quiet unless GRPC_VERBOSITY asks.
void SilenceGrpcLogs() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread starts
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
}

// The variable's value; "" when unset.
std::string Variable(const char* name) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread starts
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = ::corosched::cli;
  SilenceGrpcLogs();
  std::vector<std::string> args(argv + 1, argv + argc);
  cli::ParsedCommandLine parsed = cli::ParseCommandLine(
      args, cli::Environment{
                .address = Variable("COROSCHED_ADDR"),
                .token = Variable("COROSCHED_TOKEN"),
                .token_file = Variable("COROSCHED_TOKEN_FILE"),
                .namespace_name = Variable("COROSCHED_NAMESPACE"),
                .tls_ca = Variable("COROSCHED_TLS_CA"),
                .tls_server_name = Variable("COROSCHED_TLS_SERVER_NAME")});
  if (!parsed.error.ok()) {
    std::cerr << "corosched: "
              << (parsed.command_name.empty() ? "" : parsed.command_name + ": ")
              << parsed.error.message() << "\n\n"
              << cli::UsageText(parsed.command_name);
    return cli::kExitUsage;
  }
  return cli::RunInvocation(parsed.invocation, std::cout, std::cerr);
}
