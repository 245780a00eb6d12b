#include "server/auth/credential_table.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "corosched/v1/auth_config.pb.h"
#include "google/protobuf/util/json_util.h"

namespace corosched::server {
namespace {

bool IsHex(absl::string_view text) {
  for (char c : text) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

absl::StatusOr<Sha256Digest> ParseDigest(absl::string_view hex) {
  if (hex.size() != 64 || !IsHex(hex)) {
    return absl::InvalidArgumentError(
        "sha256 must be 64 hex digits (the sha256 of the token, such as "
        "`printf %s \"$TOKEN\" | sha256sum`)");
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  Sha256Digest digest;
  std::copy(bytes.begin(), bytes.end(), digest.begin());
  return digest;
}

absl::Status EntryError(absl::string_view list, int index,
                        absl::string_view name, const absl::Status& error) {
  return absl::InvalidArgumentError(absl::StrCat(
      list, "[", index, "] (", QuoteInput(name), "): ", error.message()));
}

std::vector<std::string> List(
    const google::protobuf::RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
}

}  // namespace

Sha256Digest Sha256(absl::string_view bytes) {
  // OpenSSL 3's one-shot SHA256() looks its implementation up among the
  // providers on every call (a visible share of a call's CPU in the
  // profile of bench/security/run.sh); fetched once, a token costs only
  // its hash. Never freed: it lives as long as the process.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  Sha256Digest digest;
  unsigned int length = 0;
  if (kSha256 == nullptr ||
      EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, kSha256,
                 nullptr) != 1) {
    // No SHA-256 in this OpenSSL: a digest no entry has, so no token
    // matches.
    digest.fill(0);
  }
  return digest;
}

absl::StatusOr<CredentialTable> CredentialTable::Parse(absl::string_view json) {
  v1::AuthTokensFile file;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto parsed = google::protobuf::util::JsonStringToMessage(
          std::string(json), &file, options);
      !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a tokens file: ",
        absl::string_view(parsed.message().data(), parsed.message().size())));
  }
  CredentialTable table;
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> hashes;
  for (int i = 0; i < file.tokens_size(); ++i) {
    const v1::AuthToken& token = file.tokens(i);
    absl::Status bad;
    absl::StatusOr<Sha256Digest> digest = ParseDigest(token.sha256());
    absl::StatusOr<Grants> grants =
        MakeGrants(token.name(), List(token.namespaces()), List(token.roles()));
    if (token.name().empty()) {
      bad = absl::InvalidArgumentError("no name");
    } else if (!names.insert(token.name()).second) {
      bad = absl::InvalidArgumentError("another token has this name");
    } else if (!digest.ok()) {
      bad = digest.status();
    } else if (!hashes.insert(absl::AsciiStrToLower(token.sha256())).second) {
      bad = absl::InvalidArgumentError("another token has this sha256");
    } else if (!grants.ok()) {
      bad = grants.status();
    }
    if (!bad.ok()) return EntryError("tokens", i, token.name(), bad);
    table.tokens_.push_back({*digest, *std::move(grants)});
  }
  for (int i = 0; i < file.certificates_size(); ++i) {
    const v1::AuthCertificate& entry = file.certificates(i);
    absl::Status bad;
    absl::StatusOr<Grants> grants =
        MakeGrants(entry.name(), List(entry.namespaces()), List(entry.roles()));
    if (entry.name().empty()) {
      bad = absl::InvalidArgumentError("no name");
    } else if (entry.common_name().empty()) {
      bad = absl::InvalidArgumentError(
          "no common_name (the client certificate's subject CN or a SAN)");
    } else if (table.certificates_.contains(entry.common_name())) {
      bad = absl::InvalidArgumentError(
          "another certificate entry has this common_name");
    } else if (!grants.ok()) {
      bad = grants.status();
    }
    if (!bad.ok()) return EntryError("certificates", i, entry.name(), bad);
    table.certificates_.emplace(entry.common_name(), *std::move(grants));
  }
  return table;
}

const Grants* CredentialTable::FindToken(absl::string_view token) const {
  const Sha256Digest digest = Sha256(token);
  const Grants* found = nullptr;
  for (const TokenEntry& entry : tokens_) {
    // Every entry is compared, whatever matched before.
    const bool same =
        CRYPTO_memcmp(entry.sha256.data(), digest.data(), digest.size()) == 0;
    if (same) found = &entry.grants;
  }
  return found;
}

const Grants* CredentialTable::FindCertificate(
    const std::vector<std::string>& identities) const {
  for (const std::string& identity : identities) {
    auto found = certificates_.find(identity);
    if (found != certificates_.end()) return &found->second;
  }
  return nullptr;
}

}  // namespace corosched::server
