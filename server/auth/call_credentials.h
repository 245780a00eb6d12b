#pragma once

// The credentials of one call as plain data, so every decision about them
// (CredentialAuthorizer::Decide) is testable without a gRPC server.
//
//   CallCredentials call = ReadCallCredentials(context);
//
// Thread-safety: plain values.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"

namespace corosched::server {

struct CallCredentials {
  // The connection (context.peer(), such as ipv4:10.0.0.7:53122).
  std::string peer;
  // CallNamespace's answer: the namespace, or INVALID_ARGUMENT.
  absl::StatusOr<std::string> namespace_name = std::string("default");
  // The token of `authorization: Bearer <token>`; empty without the header.
  std::string bearer;
  // UNAUTHENTICATED when the authorization header is present but not one
  // `Bearer <token>` (then `bearer` is empty).
  absl::Status authorization_error;
  // The identities of a client certificate the TLS handshake verified:
  // its common name first, then its subject alternative names. Empty
  // without one.
  std::vector<std::string> certificate_identities;
};

// The token of an authorization header value: "Bearer <token>" (the scheme
// in any case, one space, a token of visible ASCII). UNAUTHENTICATED
// "authorization header: expected Bearer <token>" for anything else; the
// message never shows the value.
absl::StatusOr<std::string> ParseAuthorizationHeader(absl::string_view value);

// Reads the peer, the namespace header, the authorization header (more
// than one is an error) and the verified certificate of `context`.
CallCredentials ReadCallCredentials(const grpc::ServerContextBase& context);

}  // namespace corosched::server
