#pragma once

// The credentials gRPC serves --listen with (docs/operations.md, "TLS").
//
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
//       MakeServerCredentials(config);
//   if (!credentials.ok()) { refuse to start; }
//   builder.AddListeningPort(config.listen, *credentials, &port);

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "server/daemon/config.h"

namespace corosched::server {

// Without config.tls.cert_file: plaintext (insecure credentials).
//
// With it: TLS from --tls-cert and --tls-key, read by gRPC's file watcher
// every config.credentials_reload_interval, so a renewed certificate or key
// (or CA) is served to new connections without a restart; connections
// already open keep the certificate they were made with. Replace the files
// by renaming complete new ones into place, close together: a read between
// the two renames pairs them wrongly until the next. With --tls-client-ca every
// connection must present a client certificate signed by one of its CAs
// and valid now (mTLS); the rest fail the handshake.
//
// Checks the files first (CheckTlsFiles): FAILED_PRECONDITION naming the
// file when one is unreadable, not PEM, or the key is not the
// certificate's. Logs an expired certificate as a warning, and
// `event=tls_on client_certificates=required|no`.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerConfig& config);

}  // namespace corosched::server
