#pragma once

// Checks JSON Web Tokens, the second kind of bearer credential
// (--jwt-key, --jwt-issuer, --jwt-audience; docs/security.md).
//
//   absl::StatusOr<JwtVerifier> verifier =
//       JwtVerifier::Create(key_file_bytes, {.issuer = "corp"});
//   absl::StatusOr<Grants> grants = verifier->Verify(token, clock.Now());
//
// The key decides the one algorithm accepted: a PEM public key ("BEGIN
// PUBLIC KEY") takes RS256 (RSA) or ES256 (EC P-256); anything else is an
// HS256 secret of at least 32 bytes. A token signed otherwise is refused
// even when its signature checks out under another reading of the key (the
// classic confusions: `alg: none`, and HS256 keyed with the public key).
//
// Claims: `sub` (the principal, required), `exp` (required), `nbf`, `iss`
// and `aud` when configured (aud may be a string or an array), `namespaces`
// and `roles` (arrays of strings, as in the tokens file). exp and nbf allow
// kJwtClockLeeway of clock skew.
//
// Thread-safety: immutable once made; Verify from any thread.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/auth/grants.h"

namespace corosched::server {

inline constexpr absl::Duration kJwtClockLeeway = absl::Seconds(30);

// A bearer token with exactly two dots is a JWT (header.payload.signature).
bool LooksLikeJwt(absl::string_view token);

class JwtVerifier {
 public:
  struct Rules {
    // Required values of iss and aud; empty: not checked.
    std::string issuer;
    std::string audience;
  };

  // INVALID_ARGUMENT for a PEM that is not an RSA or P-256 public key, or a
  // secret shorter than 32 bytes. Trailing whitespace (a final newline) is
  // not part of a secret.
  static absl::StatusOr<JwtVerifier> Create(absl::string_view key, Rules rules);

  // The grants of a valid token; UNAUTHENTICATED saying what is wrong
  // (never echoing the token) otherwise.
  absl::StatusOr<Grants> Verify(absl::string_view token, absl::Time now) const;

  // "RS256", "ES256" or "HS256".
  absl::string_view algorithm() const { return algorithm_; }

 private:
  JwtVerifier(std::string key, std::string algorithm, Rules rules)
      : key_(std::move(key)),
        algorithm_(std::move(algorithm)),
        rules_(std::move(rules)) {}

  std::string key_;
  std::string algorithm_;
  Rules rules_;
};

}  // namespace corosched::server
