#pragma once

// The --auth-tokens file, parsed: the sha256 of each token with its grants,
// and the grants of client certificates by identity (docs/security.md).
//
//   absl::StatusOr<CredentialTable> table = CredentialTable::Parse(json);
//   const Grants* grants = table->FindToken(presented_token);
//
// Only hashes are kept: the file never holds a token, and neither does
// this table.
//
// Thread-safety: immutable once parsed; share it freely.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/auth/grants.h"

namespace corosched::server {

// Bearer tokens longer than this are refused before they are hashed.
inline constexpr size_t kMaxTokenBytes = 4096;

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(absl::string_view bytes);

class CredentialTable {
 public:
  // Parses the file's JSON strictly: unknown fields, a sha256 that is not 64
  // hex digits, an unknown role, an entry without a name, namespaces or
  // roles, and duplicate names or hashes are INVALID_ARGUMENT naming the
  // entry ("tokens[2] (\"ci\"): ...").
  static absl::StatusOr<CredentialTable> Parse(absl::string_view json);

  // The grants of the token whose sha256 is listed, or null. Hashes the
  // token once and compares the digest with every entry in constant time
  // (CRYPTO_memcmp, no early exit), so timing tells nothing about which
  // bytes matched. REQUIRES: token.size() <= kMaxTokenBytes.
  const Grants* FindToken(absl::string_view token) const;

  // The grants of the first of `identities` (a certificate's common name,
  // then its subject alternative names) that a certificates entry names,
  // or null.
  const Grants* FindCertificate(
      const std::vector<std::string>& identities) const;

  size_t token_count() const { return tokens_.size(); }
  size_t certificate_count() const { return certificates_.size(); }

 private:
  struct TokenEntry {
    Sha256Digest sha256;
    Grants grants;
  };

  std::vector<TokenEntry> tokens_;
  absl::flat_hash_map<std::string, Grants> certificates_;
};

}  // namespace corosched::server
