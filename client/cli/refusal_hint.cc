#include "client/cli/refusal_hint.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace corosched::cli {
namespace {

std::string Unauthenticated(const GlobalOptions& globals) {
  if (!globals.token.empty() || !globals.token_file.empty()) {
    return "corosched: the daemon did not accept the token (is it mistyped, "
           "expired or revoked?)\n";
  }
  if (!globals.tls_cert.empty()) {
    return "corosched: the daemon did not accept the client certificate (is "
           "its name among the certificates of the daemon's --auth-tokens?)\n";
  }
  return "corosched: the daemon wants credentials: a token (--token-file, "
         "COROSCHED_TOKEN_FILE, --token or COROSCHED_TOKEN) or a client "
         "certificate (--tls-cert, --tls-key)\n";
}

}  // namespace

std::string RefusalHint(const absl::Status& status,
                        const GlobalOptions& globals) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return Unauthenticated(globals);
    case absl::StatusCode::kPermissionDenied:
      return absl::StrCat(
          "corosched: the credentials are valid but do not allow this in "
          "namespace \"",
          globals.namespace_name.empty() ? "default" : globals.namespace_name,
          "\" (name another namespace with --namespace or "
          "COROSCHED_NAMESPACE, or ask for the role)\n");
    case absl::StatusCode::kUnavailable:
      if (!absl::StrContains(absl::AsciiStrToLower(status.message()),
                             "connect")) {
        return "";
      }
      return absl::StrCat(
          "corosched: is corosched-server running at ", globals.address,
          "? (set --addr or COROSCHED_ADDR",
          globals.tls_ca.empty()
              ? "; a daemon serving TLS needs --tls-ca"
              : "; is the daemon's certificate from --tls-ca's CA, for "
                "this name?",
          ")\n");
    default:
      return "";
  }
}

}  // namespace corosched::cli
