#include "server/auth/jwt_verifier.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "net/openssl_handles.h"

namespace corosched::server {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kMinSecretBytes = 32;

absl::Status Refused(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("JWT: ", why));
}

// "RS256" or "ES256" for a PEM public key; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> PublicKeyAlgorithm(absl::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "not a PEM public key (expected -----BEGIN PUBLIC KEY-----, such as "
        "`openssl pkey -pubout` writes)");
  }
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) return "RS256";
  char group[64] = {0};
  size_t length = 0;
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC &&
      EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &length) == 1 &&
      absl::string_view(group, length) == "prime256v1") {
    return "ES256";
  }
  return absl::InvalidArgumentError(
      "the public key is neither RSA (RS256) nor EC P-256 (ES256)");
}

const Value* Claim(const Struct& claims, const char* name) {
  auto found = claims.fields().find(name);
  return found == claims.fields().end() ? nullptr : &found->second;
}

// A list-of-strings claim such as ["a", "b"].
absl::StatusOr<std::vector<std::string>> StringList(const Struct& claims,
                                                    const char* name) {
  const Value* value = Claim(claims, name);
  if (value == nullptr || !value->has_list_value()) {
    return Refused(
        absl::StrCat("claim ", name, " must be an array of strings"));
  }
  std::vector<std::string> list;
  for (const Value& item : value->list_value().values()) {
    if (!item.has_string_value()) {
      return Refused(
          absl::StrCat("claim ", name, " must be an array of strings"));
    }
    list.push_back(item.string_value());
  }
  return list;
}

bool AudienceMatches(const Value* aud, absl::string_view audience) {
  if (aud == nullptr) return false;
  if (aud->has_string_value()) return aud->string_value() == audience;
  if (!aud->has_list_value()) return false;
  const auto& values = aud->list_value().values();
  return std::any_of(values.begin(), values.end(), [&](const Value& v) {
    return v.has_string_value() && v.string_value() == audience;
  });
}

// A NumericDate claim (seconds since the epoch, maybe fractional) as a
// time; absl's double durations saturate, so a huge or NaN value cannot
// overflow (it reads as the infinite future or past).
absl::Time ClaimTime(const Value& value) {
  return absl::UnixEpoch() + absl::Seconds(value.number_value());
}

absl::Status CheckTimes(const Struct& claims, absl::Time now) {
  const Value* exp = Claim(claims, "exp");
  if (exp == nullptr || !exp->has_number_value()) {
    return Refused("claim exp (expiry, seconds since the epoch) is required");
  }
  if (now - kJwtClockLeeway >= ClaimTime(*exp)) {
    return Refused("expired (exp is past)");
  }
  const Value* nbf = Claim(claims, "nbf");
  if (nbf != nullptr &&
      (!nbf->has_number_value() || now + kJwtClockLeeway < ClaimTime(*nbf))) {
    return Refused("not valid yet (nbf is in the future)");
  }
  return absl::OkStatus();
}

}  // namespace

bool LooksLikeJwt(absl::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2;
}

absl::StatusOr<JwtVerifier> JwtVerifier::Create(absl::string_view key,
                                                Rules rules) {
  if (absl::StrContains(key, "-----BEGIN")) {
    absl::StatusOr<std::string> algorithm = PublicKeyAlgorithm(key);
    if (!algorithm.ok()) return algorithm.status();
    return JwtVerifier(std::string(key), *std::move(algorithm),
                       std::move(rules));
  }
  absl::string_view secret = absl::StripTrailingAsciiWhitespace(key);
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an HS256 secret must be at least ", kMinSecretBytes,
        " bytes (such as `openssl rand -hex 32`), or give a PEM public key"));
  }
  return JwtVerifier(std::string(secret), "HS256", std::move(rules));
}

absl::StatusOr<Grants> JwtVerifier::Verify(absl::string_view token,
                                           absl::Time now) const {
  jwt_t* raw = nullptr;
  const std::string text(token);
  if (jwt_decode(&raw, text.c_str(),
                 reinterpret_cast<const unsigned char*>(key_.data()),
                 static_cast<int>(key_.size())) != 0 ||
      raw == nullptr) {
    if (raw != nullptr) jwt_free(raw);
    return Refused(
        "malformed, or its signature does not verify with --jwt-key");
  }
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
  const char* alg = jwt_alg_str(jwt_get_alg(jwt.get()));
  if (alg == nullptr || algorithm_ != alg) {
    return Refused(absl::StrCat("signed with ", alg == nullptr ? "?" : alg,
                                "; --jwt-key accepts only ", algorithm_));
  }
  std::unique_ptr<char, decltype(&free)> json(
      jwt_get_grants_json(jwt.get(), nullptr), &free);
  Struct claims;
  if (json == nullptr ||
      !google::protobuf::util::JsonStringToMessage(json.get(), &claims).ok()) {
    return Refused("the claims are not a JSON object");
  }
  if (absl::Status times = CheckTimes(claims, now); !times.ok()) return times;
  const Value* iss = Claim(claims, "iss");
  if (!rules_.issuer.empty() &&
      (iss == nullptr || iss->string_value() != rules_.issuer)) {
    return Refused("iss is not the issuer --jwt-issuer names");
  }
  if (!rules_.audience.empty() &&
      !AudienceMatches(Claim(claims, "aud"), rules_.audience)) {
    return Refused("aud does not name the audience --jwt-audience names");
  }
  const Value* sub = Claim(claims, "sub");
  if (sub == nullptr || sub->string_value().empty()) {
    return Refused("claim sub (the principal) is required");
  }
  absl::StatusOr<std::vector<std::string>> namespaces =
      StringList(claims, "namespaces");
  if (!namespaces.ok()) return namespaces.status();
  absl::StatusOr<std::vector<std::string>> roles = StringList(claims, "roles");
  if (!roles.ok()) return roles.status();
  absl::StatusOr<Grants> grants =
      MakeGrants(sub->string_value(), *namespaces, *roles);
  if (!grants.ok()) return Refused(grants.status().message());
  return grants;
}

}  // namespace corosched::server
