#pragma once

// Secure by default: which listen addresses the daemon serves without
// transport security and authentication.
//
//   if (absl::Status safe = CheckListenSecurity(config); !safe.ok()) {
//     log safe; exit 1;   // the message names the flags that fix it
//   }
//
// Pure (no sockets, no name lookups): a name other than "localhost" counts
// as reachable from elsewhere, whatever it resolves to.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/daemon/config.h"

namespace corosched::server {

// Whether `listen` (as --listen takes it) is reachable from this machine
// only: a unix: socket, 127.0.0.0/8, ::1 (or ::ffff:127.x.x.x), or the
// name localhost. 0.0.0.0, ::, any other address or name: false. An
// address that does not parse: false.
bool IsLoopbackListen(absl::string_view listen);

// FAILED_PRECONDITION unless each listener is loopback, or secured, or
// config.insecure allows it:
//  - --listen off loopback needs TLS (--tls-cert, --tls-key) and
//    authentication (--auth-tokens, --jwt-key or --tls-client-ca);
//  - --metrics-listen off loopback needs --metrics-tls-cert,
//    --metrics-tls-key and --metrics-basic-auth.
// The message names the address, what is missing and the flags that fix it.
absl::Status CheckListenSecurity(const ServerConfig& config);

// Whether calls must present credentials: a tokens file, a JWT key or
// client certificates are configured.
bool AuthenticationConfigured(const ServerConfig& config);

}  // namespace corosched::server
