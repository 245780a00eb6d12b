#include "server/auth/credential_authorizer.h"

#include <jwt.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/testing/fake_auth_observer.h"
#include "server/auth/testing/tokens_json.h"

namespace corosched::server {
namespace {

using testing::CertificateJson;
using ::testing::HasSubstr;
using testing::TokenJson;
using testing::TokensJson;

const std::string kSecret(40, 'k');

CallCredentials Bearer(std::string token, std::string namespace_name = "a") {
  CallCredentials call;
  call.peer = "ipv4:127.0.0.1:5000";
  call.namespace_name = std::move(namespace_name);
  call.bearer = std::move(token);
  return call;
}

CallCredentials Certificate(std::string common_name) {
  CallCredentials call = Bearer("");
  call.certificate_identities = {std::move(common_name)};
  return call;
}

std::string SignHs256(const std::string& claims) {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grants_json(jwt, claims.c_str());
  jwt_set_alg(jwt, JWT_ALG_HS256,
              reinterpret_cast<const unsigned char*>(kSecret.data()),
              static_cast<int>(kSecret.size()));
  char* text = jwt_encode_str(jwt);
  std::string token = text;
  free(text);
  jwt_free(jwt);
  return token;
}

class CredentialAuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/authorizer_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path + ".tmp", std::ios::trunc) << contents;
    std::filesystem::rename(path + ".tmp", path);
    return path;
  }

  // An authorizer over the standard tokens file and `options`.
  std::unique_ptr<CredentialAuthorizer> Make(
      CredentialAuthorizer::Options options = {}, bool with_jwt = false) {
    CredentialFiles::Options files{
        .tokens_file =
            Write("tokens.json",
                  TokensJson(
                      {TokenJson("reader", "r-token", {"a"}, {"read"}),
                       TokenJson("submitter", "s-token", {"a"}, {"submit"}),
                       TokenJson("ops", "o-token", {"*"}, {"admin"})},
                      {CertificateJson("w1", "worker-1", {"jobs"}, {"work"})})),
        .observer = &observer_};
    if (with_jwt) files.jwt_key_file = Write("jwt.key", kSecret + "\n");
    auto loaded = CredentialFiles::Load(std::move(files));
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    options.clock = &clock_;
    options.observer = &observer_;
    options.denial_sink = [this](const std::string& line) {
      log_.push_back(line);
    };
    return std::make_unique<CredentialAuthorizer>(*std::move(loaded),
                                                  std::move(options));
  }

  absl::StatusCode Code(CredentialAuthorizer& authorizer,
                        const CallCredentials& call, Role role,
                        CallKind kind = CallKind::kUnary) {
    return authorizer.Decide(call, role, kind).status().code();
  }

  std::string dir_;
  ManualClock clock_{absl::FromUnixSeconds(1800000000)};
  testing::FakeAuthObserver observer_;
  std::vector<std::string> log_;
};

TEST_F(CredentialAuthorizerTest, GrantsAKnownTokenItsRoleInItsNamespace) {
  auto authorizer = Make();
  absl::StatusOr<CallScope> scope =
      authorizer->Decide(Bearer("s-token"), Role::kSubmit, CallKind::kUnary);
  ASSERT_TRUE(scope.ok()) << scope.status();
  EXPECT_EQ(scope->namespace_name, "a");
  EXPECT_EQ(scope->principal, "submitter");
  EXPECT_EQ(scope->stream_slot, nullptr);
  EXPECT_TRUE(log_.empty());
}

TEST_F(CredentialAuthorizerTest, RefusesCallsWithoutValidCredentials) {
  auto authorizer = Make();
  CallCredentials malformed = Bearer("");
  malformed.authorization_error =
      absl::UnauthenticatedError("authorization header: expected Bearer");
  for (const CallCredentials& call :
       {Bearer(""), Bearer("wrong"), Bearer("r-tokeN"), malformed,
        Bearer(std::string(kMaxTokenBytes + 1, 'x'))}) {
    EXPECT_EQ(Code(*authorizer, call, Role::kRead),
              absl::StatusCode::kUnauthenticated);
  }
  EXPECT_THAT(authorizer
                  ->Decide(Bearer(std::string(kMaxTokenBytes + 1, 'x')),
                           Role::kRead, CallKind::kUnary)
                  .status()
                  .message(),
              HasSubstr("token too long"));
  EXPECT_EQ(observer_.denials(absl::StatusCode::kUnauthenticated, Role::kRead),
            6);
  ASSERT_EQ(log_.size(), 6u);
  for (const std::string& line : log_) {
    EXPECT_THAT(line, HasSubstr("event=auth_denied code=unauthenticated"));
    EXPECT_THAT(line, ::testing::Not(HasSubstr("r-tokeN")));
  }
}

TEST_F(CredentialAuthorizerTest, ARoleOrNamespaceNotGrantedIsPermissionDenied) {
  auto authorizer = Make();
  EXPECT_EQ(Code(*authorizer, Bearer("r-token"), Role::kSubmit),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(*authorizer, Bearer("r-token", "b"), Role::kRead),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(*authorizer, Bearer("s-token"), Role::kAdmin),
            absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(
      authorizer->Decide(Bearer("r-token"), Role::kWake, CallKind::kUnary)
          .status()
          .message(),
      HasSubstr("\"reader\" has no wake role in namespace \"a\""));
  // Admin everywhere.
  EXPECT_EQ(Code(*authorizer, Bearer("o-token", "zzz"), Role::kWork),
            absl::StatusCode::kOk);
  EXPECT_EQ(
      observer_.denials(absl::StatusCode::kPermissionDenied, Role::kSubmit), 1);
}

TEST_F(CredentialAuthorizerTest, AMalformedNamespaceIsInvalidArgument) {
  auto authorizer = Make();
  CallCredentials call = Bearer("o-token");
  call.namespace_name = absl::InvalidArgumentError("bad namespace");
  EXPECT_EQ(Code(*authorizer, call, Role::kRead),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CredentialAuthorizerTest, VerifiesJwtsWhenAKeyIsConfigured) {
  auto authorizer = Make({}, /*with_jwt=*/true);
  const std::string token =
      SignHs256(absl::StrCat(R"({"sub": "svc", "exp": )", 1800000000 + 60,
                             R"(, "namespaces": ["a"], "roles": ["wake"]})"));
  absl::StatusOr<CallScope> scope =
      authorizer->Decide(Bearer(token), Role::kWake, CallKind::kUnary);
  ASSERT_TRUE(scope.ok()) << scope.status();
  EXPECT_EQ(scope->principal, "svc");
  EXPECT_EQ(Code(*authorizer, Bearer(token), Role::kSubmit),
            absl::StatusCode::kPermissionDenied);
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(Code(*authorizer, Bearer(token), Role::kWake),
            absl::StatusCode::kUnauthenticated);
  // Opaque tokens still work beside JWTs.
  EXPECT_EQ(Code(*authorizer, Bearer("r-token"), Role::kRead),
            absl::StatusCode::kOk);
}

TEST_F(CredentialAuthorizerTest, MapsCertificatesThroughTheirEntries) {
  auto authorizer = Make({.trust_client_certificates = true});
  CallCredentials worker = Certificate("worker-1");
  worker.namespace_name = "jobs";
  absl::StatusOr<CallScope> scope =
      authorizer->Decide(worker, Role::kWork, CallKind::kUnary);
  ASSERT_TRUE(scope.ok()) << scope.status();
  EXPECT_EQ(scope->principal, "w1");
  EXPECT_EQ(Code(*authorizer, worker, Role::kSubmit),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(*authorizer, Certificate("stranger"), Role::kRead),
            absl::StatusCode::kUnauthenticated);
  // A stranger's certificate with a valid token: the token decides.
  CallCredentials with_token = Certificate("stranger");
  with_token.bearer = "r-token";
  EXPECT_EQ(Code(*authorizer, with_token, Role::kRead), absl::StatusCode::kOk);
}

TEST_F(CredentialAuthorizerTest, IgnoresCertificatesNobodyVerified) {
  auto authorizer = Make({.trust_client_certificates = false});
  CallCredentials worker = Certificate("worker-1");
  worker.namespace_name = "jobs";
  EXPECT_EQ(Code(*authorizer, worker, Role::kWork),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(CredentialAuthorizerTest, TheCaAloneMakesEveryCertificateAnAdmin) {
  CredentialAuthorizer authorizer(
      nullptr, {.trust_client_certificates = true, .clock = &clock_});
  absl::StatusOr<CallScope> scope =
      authorizer.Decide(Certificate("anyone"), Role::kAdmin, CallKind::kUnary);
  ASSERT_TRUE(scope.ok()) << scope.status();
  EXPECT_EQ(scope->principal, "anyone");
  // A token beside it cannot be checked against anything: the certificate
  // decides.
  CallCredentials with_token = Certificate("anyone");
  with_token.bearer = "some-token";
  EXPECT_EQ(Code(authorizer, with_token, Role::kAdmin), absl::StatusCode::kOk);
  EXPECT_EQ(Code(authorizer, Bearer(""), Role::kRead),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(CredentialAuthorizerTest, LimitsRequestsPerPrincipalOnTheClock) {
  auto authorizer = Make({.principal_rate = 2});
  EXPECT_EQ(Code(*authorizer, Bearer("r-token"), Role::kRead),
            absl::StatusCode::kOk);
  EXPECT_EQ(Code(*authorizer, Bearer("r-token"), Role::kRead),
            absl::StatusCode::kOk);
  absl::Status limited =
      authorizer->Decide(Bearer("r-token"), Role::kRead, CallKind::kUnary)
          .status();
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(limited.message(), HasSubstr("--principal-rate (2 requests/s)"));
  EXPECT_EQ(Code(*authorizer, Bearer("s-token"), Role::kSubmit),
            absl::StatusCode::kOk);  // another principal
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Code(*authorizer, Bearer("r-token"), Role::kRead),
            absl::StatusCode::kOk);
}

TEST_F(CredentialAuthorizerTest, LimitsRequestsPerConnectionBeforeAuth) {
  auto authorizer = Make({.connection_rate = 1});
  EXPECT_EQ(Code(*authorizer, Bearer("wrong"), Role::kRead),
            absl::StatusCode::kUnauthenticated);
  absl::Status limited =
      authorizer->Decide(Bearer("r-token"), Role::kRead, CallKind::kUnary)
          .status();
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(limited.message(), HasSubstr("--connection-rate"));
  CallCredentials other = Bearer("r-token");
  other.peer = "ipv4:127.0.0.1:5001";
  EXPECT_EQ(Code(*authorizer, other, Role::kRead), absl::StatusCode::kOk);
}

TEST_F(CredentialAuthorizerTest, LimitsOpenStreamsPerPrincipal) {
  auto authorizer = Make({.principal_max_streams = 2});
  auto first =
      authorizer->Decide(Bearer("r-token"), Role::kRead, CallKind::kStream);
  auto second =
      authorizer->Decide(Bearer("r-token"), Role::kRead, CallKind::kStream);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->stream_slot, nullptr);
  absl::Status limited =
      authorizer->Decide(Bearer("r-token"), Role::kRead, CallKind::kStream)
          .status();
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(limited.message(), HasSubstr("--principal-max-streams"));
  // Unary calls are not streams.
  EXPECT_EQ(Code(*authorizer, Bearer("r-token"), Role::kRead),
            absl::StatusCode::kOk);
  *first = CallScope{};  // the stream ended
  EXPECT_EQ(
      Code(*authorizer, Bearer("r-token"), Role::kRead, CallKind::kStream),
      absl::StatusCode::kOk);
}

TEST_F(CredentialAuthorizerTest, ATokenRemovedFromTheFileIsRefusedAfterReload) {
  auto authorizer = Make();
  EXPECT_EQ(Code(*authorizer, Bearer("r-token"), Role::kRead),
            absl::StatusCode::kOk);
  Write("tokens.json",
        TokensJson({TokenJson("new", "n-token", {"a"}, {"read"})}));
  authorizer->files()->CheckForChanges();
  EXPECT_EQ(Code(*authorizer, Bearer("r-token"), Role::kRead),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code(*authorizer, Bearer("n-token"), Role::kRead),
            absl::StatusCode::kOk);
}

TEST_F(CredentialAuthorizerTest, ATokenKeptAcrossReloadsNeverFailsMidReload) {
  auto authorizer = Make({.principal_max_streams = 1000000});
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      while (!done.load()) {
        auto scope = authorizer->Decide(Bearer("o-token"), Role::kSubmit,
                                        CallKind::kStream);
        if (!scope.ok()) failures.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    Write("tokens.json",
          TokensJson({TokenJson("ops", "o-token", {"*"}, {"admin"}),
                      TokenJson(absl::StrCat("t", i), absl::StrCat("t", i),
                                {"a"}, {"read"})}));
    authorizer->files()->CheckForChanges();
  }
  done.store(true);
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(failures.load(), 0);
  // A last file of another size (rewrites within one tick of the file
  // system's clock, of one size, may look unchanged until the next one).
  Write("tokens.json",
        TokensJson({TokenJson("final", "final-token", {"a"}, {"read"})}));
  authorizer->files()->CheckForChanges();
  EXPECT_EQ(Code(*authorizer, Bearer("final-token"), Role::kRead),
            absl::StatusCode::kOk);
  EXPECT_EQ(Code(*authorizer, Bearer("o-token"), Role::kRead),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace corosched::server
