#include "client/cli/connection_options.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace corosched::cli {

absl::StatusOr<ClientOptions> ConnectionOptions(const GlobalOptions& globals) {
  ClientOptions options{
      .address = globals.address,
      .default_timeout = globals.timeout,
      .tls = {.ca_file = globals.tls_ca,
              .cert_file = globals.tls_cert,
              .key_file = globals.tls_key,
              .server_name = globals.tls_server_name},
      .token = globals.token,
      .namespace_name = globals.namespace_name,
  };
  if (!globals.token_file.empty()) {
    absl::StatusOr<std::string> token =
        ReadSmallFile("the token file", globals.token_file);
    if (!token.ok()) return token.status();
    options.token = std::string(absl::StripAsciiWhitespace(*token));
    if (options.token.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the token file ", globals.token_file,
                       " is empty; it should hold the bearer token"));
    }
  }
  return options;
}

}  // namespace corosched::cli
