#include "server/daemon/server_credentials.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "server/daemon/logging.h"
#include "server/daemon/pem_checks.h"
#include "spdlog/spdlog.h"

namespace corosched::server {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerConfig& config) {
  const TlsConfig& tls = config.tls;
  if (tls.cert_file.empty()) {
    spdlog::info("event=tls_off");
    return grpc::InsecureServerCredentials();
  }
  absl::StatusOr<std::vector<std::string>> warnings =
      CheckTlsFiles({.cert_file = tls.cert_file,
                     .key_file = tls.key_file,
                     .ca_file = tls.client_ca_file},
                    absl::Now());
  if (!warnings.ok()) return warnings.status();
  for (const std::string& warning : *warnings) {
    spdlog::warn("event=tls_certificate_invalid detail={}", LogValue(warning));
  }
  const auto refresh_seconds = static_cast<unsigned int>(std::max<int64_t>(
      1, absl::ToInt64Seconds(config.credentials_reload_interval)));
  const bool mtls = !tls.client_ca_file.empty();
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          tls.key_file, tls.cert_file, tls.client_ca_file, refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (mtls) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  spdlog::info(
      "event=tls_on cert={} key={} client_certificates={} client_ca={} "
      "reload_interval={}",
      LogValue(tls.cert_file), LogValue(tls.key_file), mtls ? "required" : "no",
      mtls ? LogValue(tls.client_ca_file) : "-",
      absl::FormatDuration(config.credentials_reload_interval));
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace corosched::server
