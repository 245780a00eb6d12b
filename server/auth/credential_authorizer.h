#pragma once

// The Authorizer of a daemon with credentials configured (--auth-tokens,
// --jwt-key, --tls-client-ca): who the caller is, whether its grants allow
// the call, and whether it is within its limits (docs/security.md).
//
//   CredentialAuthorizer authorizer(std::move(files), {
//       .trust_client_certificates = true, .principal_rate = 100,
//       .clock = Clock::Real(), .observer = &metrics});
//   absl::StatusOr<CallScope> scope =
//       authorizer.Authorize(context, Role::kSubmit, CallKind::kUnary);
//
// Decide, in this order (the first failure answers):
//  1. --connection-rate for the peer: RESOURCE_EXHAUSTED. Before the
//     credentials, so guessing tokens on one connection is slowed too.
//  2. Who: a bearer token (longer than kMaxTokenBytes: refused unhashed; a
//     JWT when it has two dots and --jwt-key is set; otherwise looked up
//     in the tokens file); without one, a verified client certificate (its
//     `certificates` entry; with no tokens file and no JWT key, admin in
//     every namespace: the CA is the grant). A bad or absent credential:
//     UNAUTHENTICATED. A token that is presented decides, even beside a
//     certificate (unless there is no tokens file and no JWT key: then
//     tokens are ignored and the certificate decides).
//  3. The namespace header: INVALID_ARGUMENT when malformed.
//  4. The grants: PERMISSION_DENIED unless `role` (or admin) is granted in
//     the namespace.
//  5. --principal-rate, then for streams --principal-max-streams:
//     RESOURCE_EXHAUSTED.
// Every refusal is counted (AuthObserver::OnDenied) and logged (DenialLog).
//
// Thread-safety: Authorize and Decide from any thread, concurrently.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/time/clock.h"
#include "server/auth/auth_observer.h"
#include "server/auth/authorizer.h"
#include "server/auth/call_credentials.h"
#include "server/auth/credential_files.h"
#include "server/auth/denial_log.h"
#include "server/auth/rate_limits.h"

namespace corosched::server {

class CredentialAuthorizer final : public Authorizer {
 public:
  struct Options {
    // --tls-client-ca is set: the TLS handshake verified the certificates
    // calls carry. Without it certificates are ignored.
    bool trust_client_certificates = false;
    // Requests per second (0: unlimited) and open streams per principal;
    // requests per second per connection.
    uint32_t principal_rate = 0;
    uint32_t principal_max_streams = 1000;
    uint32_t connection_rate = 0;
    const Clock* clock = Clock::Real();
    AuthObserver* observer = nullptr;  // may be null
    // Where denial lines go; null: spdlog at warn.
    DenialLog::Sink denial_sink;
  };

  // `files`: the tokens file and JWT key; null when neither is configured
  // (then only client certificates authenticate).
  CredentialAuthorizer(std::unique_ptr<CredentialFiles> files, Options options);

  absl::StatusOr<CallScope> Authorize(const grpc::ServerContextBase& context,
                                      Role role, CallKind kind) override;

  // Authorize on a call's credentials as plain data (for tests).
  absl::StatusOr<CallScope> Decide(const CallCredentials& call, Role role,
                                   CallKind kind);

  // Null when no file is configured.
  CredentialFiles* files() { return files_.get(); }

 private:
  // Step 2: the caller's grants, or UNAUTHENTICATED.
  absl::StatusOr<Grants> Identify(const CallCredentials& call) const;
  absl::Status Deny(absl::Status status, Role role, const CallCredentials& call,
                    absl::string_view principal);

  const std::unique_ptr<CredentialFiles> files_;
  const Options options_;
  RequestRateLimiter principal_rate_;
  RequestRateLimiter connection_rate_;
  StreamLimiter streams_;
  DenialLog denials_;
};

}  // namespace corosched::server
