#include "server/auth/jwt_verifier.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

// A key pair made for the test: PEM private and public keys.
struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

KeyPair MakeKeyPair(const char* type, const char* parameter) {
  EVP_PKEY* key = std::string(type) == "RSA"
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", parameter);
  EXPECT_NE(key, nullptr);
  KeyPair pair;
  for (bool is_private : {true, false}) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (is_private) {
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    (is_private ? pair.private_pem : pair.public_pem).assign(data, size);
    BIO_free(bio);
  }
  EVP_PKEY_free(key);
  return pair;
}

const KeyPair& Rsa() {
  static const KeyPair* const kPair = new KeyPair(MakeKeyPair("RSA", ""));
  return *kPair;
}

const KeyPair& Ec() {
  static const KeyPair* const kPair = new KeyPair(MakeKeyPair("EC", "P-256"));
  return *kPair;
}

const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";
const absl::Time kNow = absl::FromUnixSeconds(1800000000);

std::string Sign(jwt_alg_t alg, absl::string_view key,
                 const std::string& claims) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, claims.c_str()), 0);
  EXPECT_EQ(jwt_set_alg(jwt, alg,
                        key.empty() ? nullptr
                                    : reinterpret_cast<const unsigned char*>(
                                          key.data()),
                        static_cast<int>(key.size())),
            0);
  char* text = jwt_encode_str(jwt);
  EXPECT_NE(text, nullptr);
  std::string token = text == nullptr ? "" : text;
  free(text);
  jwt_free(jwt);
  return token;
}

// Claims valid at kNow for an hour, with `extra` fields appended.
std::string Claims(absl::string_view extra = "") {
  return absl::StrCat(
      R"({"sub": "svc", "exp": )", absl::ToUnixSeconds(kNow) + 3600,
      R"(, "namespaces": ["a"], "roles": ["submit"])", extra, "}");
}

absl::Status Refusal(const JwtVerifier& verifier, const std::string& token) {
  absl::StatusOr<Grants> grants = verifier.Verify(token, kNow);
  EXPECT_FALSE(grants.ok());
  EXPECT_EQ(grants.status().code(), absl::StatusCode::kUnauthenticated);
  return grants.status();
}

TEST(JwtVerifierTest, AcceptsEachKindOfKeyAndReadsTheClaims) {
  struct Case {
    std::string verify_key;
    jwt_alg_t alg;
    std::string sign_key;
    const char* name;
  };
  for (const Case& c :
       {Case{Rsa().public_pem, JWT_ALG_RS256, Rsa().private_pem, "RS256"},
        Case{Ec().public_pem, JWT_ALG_ES256, Ec().private_pem, "ES256"},
        Case{kSecret + "\n", JWT_ALG_HS256, kSecret, "HS256"}}) {
    absl::StatusOr<JwtVerifier> verifier =
        JwtVerifier::Create(c.verify_key, {});
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    EXPECT_EQ(verifier->algorithm(), c.name);
    absl::StatusOr<Grants> grants =
        verifier->Verify(Sign(c.alg, c.sign_key, Claims()), kNow);
    ASSERT_TRUE(grants.ok()) << c.name << ": " << grants.status();
    EXPECT_EQ(grants->principal(), "svc");
    EXPECT_TRUE(grants->Allows("a", Role::kSubmit));
    EXPECT_FALSE(grants->Allows("a", Role::kAdmin));
    EXPECT_FALSE(grants->Allows("b", Role::kSubmit));
  }
}

TEST(JwtVerifierTest, RefusesExpiredAndNotYetValidTokens) {
  auto verifier = JwtVerifier::Create(kSecret, {});
  ASSERT_TRUE(verifier.ok());
  const int64_t now = absl::ToUnixSeconds(kNow);
  EXPECT_THAT(Refusal(*verifier,
                      Sign(JWT_ALG_HS256, kSecret,
                           absl::StrCat(R"({"sub": "s", "exp": )", now - 3600,
                                        R"(, "namespaces": ["a"],)",
                                        R"( "roles": ["read"]})")))
                  .message(),
              HasSubstr("expired"));
  EXPECT_THAT(
      Refusal(*verifier, Sign(JWT_ALG_HS256, kSecret,
                              Claims(absl::StrCat(R"(, "nbf": )", now + 3600))))
          .message(),
      HasSubstr("not valid yet"));
  // Within the leeway both still pass.
  EXPECT_TRUE(verifier
                  ->Verify(Sign(JWT_ALG_HS256, kSecret,
                                Claims(absl::StrCat(R"(, "nbf": )", now + 10))),
                           kNow)
                  .ok());
}

TEST(JwtVerifierTest, TimesPastAnyClockAreReadWithoutOverflow) {
  // A signed exp or nbf beyond what int64 seconds hold (a careless issuer)
  // reads as the far future: never expired, never valid yet.
  auto verifier = JwtVerifier::Create(kSecret, {});
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(verifier
                  ->Verify(Sign(JWT_ALG_HS256, kSecret,
                                R"({"sub": "s", "exp": 1e300,)"
                                R"( "namespaces": ["a"], "roles": ["read"]})"),
                           kNow)
                  .ok());
  EXPECT_THAT(Refusal(*verifier,
                      Sign(JWT_ALG_HS256, kSecret, Claims(R"(, "nbf": 1e300)")))
                  .message(),
              HasSubstr("not valid yet"));
}

TEST(JwtVerifierTest, RefusesATokenSignedWithAnotherKey) {
  auto verifier = JwtVerifier::Create(Rsa().public_pem, {});
  ASSERT_TRUE(verifier.ok());
  const KeyPair other = MakeKeyPair("RSA", "");
  EXPECT_THAT(
      Refusal(*verifier, Sign(JWT_ALG_RS256, other.private_pem, Claims()))
          .message(),
      HasSubstr("does not verify"));
  auto hs = JwtVerifier::Create(kSecret, {});
  EXPECT_FALSE(
      hs->Verify(Sign(JWT_ALG_HS256, kSecret + "x", Claims()), kNow).ok());
}

TEST(JwtVerifierTest, RefusesAlgNone) {
  for (const std::string& key : {Rsa().public_pem, kSecret}) {
    auto verifier = JwtVerifier::Create(key, {});
    ASSERT_TRUE(verifier.ok());
    const std::string token = Sign(JWT_ALG_NONE, "", Claims());
    ASSERT_TRUE(LooksLikeJwt(token)) << token;
    Refusal(*verifier, token).IgnoreError();  // asserts UNAUTHENTICATED
  }
}

TEST(JwtVerifierTest, RefusesHs256KeyedWithThePublicKey) {
  auto verifier = JwtVerifier::Create(Rsa().public_pem, {});
  ASSERT_TRUE(verifier.ok());
  Refusal(*verifier, Sign(JWT_ALG_HS256, Rsa().public_pem, Claims()))
      .IgnoreError();  // asserts UNAUTHENTICATED
  // And an ES256 token when the key is RSA.
  Refusal(*verifier, Sign(JWT_ALG_ES256, Ec().private_pem, Claims()))
      .IgnoreError();
}

TEST(JwtVerifierTest, RequiresSubExpNamespacesAndRoles) {
  auto verifier = JwtVerifier::Create(kSecret, {});
  ASSERT_TRUE(verifier.ok());
  const int64_t exp = absl::ToUnixSeconds(kNow) + 60;
  const std::pair<std::string, const char*> cases[] = {
      {R"({"exp": )" + std::to_string(exp) +
           R"(, "namespaces": ["a"], "roles": ["read"]})",
       "sub"},
      {R"({"sub": "s", "namespaces": ["a"], "roles": ["read"]})", "exp"},
      {R"({"sub": "s", "exp": )" + std::to_string(exp) +
           R"(, "roles": ["read"]})",
       "namespaces"},
      {R"({"sub": "s", "exp": )" + std::to_string(exp) +
           R"(, "namespaces": ["a"]})",
       "roles"},
      {R"({"sub": "s", "exp": )" + std::to_string(exp) +
           R"(, "namespaces": ["a"], "roles": ["root"]})",
       "unknown role"},
      {R"({"sub": "s", "exp": )" + std::to_string(exp) +
           R"(, "namespaces": "a", "roles": ["read"]})",
       "namespaces"},
  };
  for (const auto& [claims, missing] : cases) {
    EXPECT_THAT(
        Refusal(*verifier, Sign(JWT_ALG_HS256, kSecret, claims)).message(),
        HasSubstr(missing))
        << claims;
  }
}

TEST(JwtVerifierTest, ChecksIssuerAndAudienceWhenConfigured) {
  auto verifier = JwtVerifier::Create(
      kSecret, {.issuer = "https://idp", .audience = "corosched"});
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(verifier
                  ->Verify(Sign(JWT_ALG_HS256, kSecret,
                                Claims(R"(, "iss": "https://idp",)"
                                       R"( "aud": ["x", "corosched"])")),
                           kNow)
                  .ok());
  EXPECT_THAT(Refusal(*verifier, Sign(JWT_ALG_HS256, kSecret,
                                      Claims(R"(, "iss": "https://evil",)"
                                             R"( "aud": "corosched")")))
                  .message(),
              HasSubstr("iss"));
  EXPECT_THAT(Refusal(*verifier, Sign(JWT_ALG_HS256, kSecret,
                                      Claims(R"(, "iss": "https://idp",)"
                                             R"( "aud": "other")")))
                  .message(),
              HasSubstr("aud"));
  EXPECT_THAT(
      Refusal(*verifier, Sign(JWT_ALG_HS256, kSecret, Claims())).message(),
      HasSubstr("iss"));
}

TEST(JwtVerifierTest, RefusesMalformedTokensWithoutEchoingThem) {
  auto verifier = JwtVerifier::Create(kSecret, {});
  ASSERT_TRUE(verifier.ok());
  for (const std::string token :
       {"a.b.c", "..", "eyJhbGciOiJIUzI1NiJ9.!!!.sig", "secret-ish.x.y"}) {
    absl::Status refusal = Refusal(*verifier, token);
    EXPECT_THAT(refusal.message(), ::testing::Not(HasSubstr(token)));
  }
  EXPECT_TRUE(LooksLikeJwt("a.b.c"));
  EXPECT_FALSE(LooksLikeJwt("opaque-token"));
  EXPECT_FALSE(LooksLikeJwt("a.b.c.d"));
}

TEST(JwtVerifierTest, RefusesWeakSecretsAndUnsupportedKeys) {
  EXPECT_THAT(JwtVerifier::Create("short\n", {}).status().message(),
              HasSubstr("at least 32 bytes"));
  EXPECT_THAT(JwtVerifier::Create(Rsa().private_pem, {}).status().message(),
              HasSubstr("not a PEM public key"));
  EXPECT_THAT(JwtVerifier::Create(MakeKeyPair("EC", "P-384").public_pem, {})
                  .status()
                  .message(),
              HasSubstr("neither RSA"));
}

}  // namespace
}  // namespace corosched::server
