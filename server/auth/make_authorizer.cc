#include "server/auth/make_authorizer.h"

#include <utility>

#include "server/auth/credential_authorizer.h"
#include "server/auth/credential_files.h"
#include "server/daemon/listen_policy.h"

namespace corosched::server {

absl::StatusOr<std::unique_ptr<Authorizer>> MakeAuthorizer(
    const ServerConfig& config, const Clock* clock, AuthObserver* observer) {
  if (!AuthenticationConfigured(config)) {
    return std::make_unique<OpenAuthorizer>();
  }
  std::unique_ptr<CredentialFiles> files;
  if (!config.auth.tokens_file.empty() || !config.auth.jwt_key_file.empty()) {
    absl::StatusOr<std::unique_ptr<CredentialFiles>> loaded =
        CredentialFiles::Load({
            .tokens_file = config.auth.tokens_file,
            .jwt_key_file = config.auth.jwt_key_file,
            .jwt_rules = {.issuer = config.auth.jwt_issuer,
                          .audience = config.auth.jwt_audience},
            .observer = observer,
        });
    if (!loaded.ok()) return loaded.status();
    files = *std::move(loaded);
    files->StartWatching(config.credentials_reload_interval);
  }
  return std::make_unique<CredentialAuthorizer>(
      std::move(files),
      CredentialAuthorizer::Options{
          .trust_client_certificates = !config.tls.client_ca_file.empty(),
          .principal_rate = config.auth.principal_rate,
          .principal_max_streams = config.auth.principal_max_streams,
          .connection_rate = config.auth.connection_rate,
          .clock = clock,
          .observer = observer,
      });
}

}  // namespace corosched::server
