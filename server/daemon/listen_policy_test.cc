#include "server/daemon/listen_policy.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ListenPolicy, LoopbackAddressesAreLoopback) {
  for (const char* listen :
       {"127.0.0.1:50051", "127.8.9.10:0", "[::1]:50051", "localhost:1",
        "LocalHost:1", "[::ffff:127.0.0.1]:2", "unix:/run/corosched.sock"}) {
    EXPECT_TRUE(IsLoopbackListen(listen)) << listen;
  }
}

TEST(ListenPolicy, WildcardsAndOtherHostsAreNot) {
  for (const char* listen :
       {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:1", "128.0.0.1:1", "[::2]:1",
        "[::ffff:10.0.0.1]:1", "example.com:1", "localhost.example.com:1",
        "not an address"}) {
    EXPECT_FALSE(IsLoopbackListen(listen)) << listen;
  }
}

ServerConfig Config(const std::string& listen,
                    const std::string& metrics_listen = "127.0.0.1:9464") {
  ServerConfig config;
  config.listen = listen;
  config.metrics_listen = metrics_listen;
  return config;
}

TEST(ListenPolicy, LoopbackNeedsNothing) {
  EXPECT_TRUE(CheckListenSecurity(Config("127.0.0.1:50051")).ok());
  EXPECT_TRUE(CheckListenSecurity(Config("unix:/tmp/s", "")).ok());
}

TEST(ListenPolicy, AWildcardWithoutTlsAndAuthIsRefusedNamingTheFixes) {
  const absl::Status refused = CheckListenSecurity(Config("0.0.0.0:50051"));
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("--listen 0.0.0.0:50051"));
  EXPECT_THAT(refused.message(), HasSubstr("without TLS"));
  EXPECT_THAT(refused.message(), HasSubstr("and authentication"));
  EXPECT_THAT(refused.message(), HasSubstr("--tls-cert"));
  EXPECT_THAT(refused.message(), HasSubstr("--auth-tokens"));
  EXPECT_THAT(refused.message(), HasSubstr("--insecure"));
}

TEST(ListenPolicy, TlsAloneOrAuthAloneIsNotEnough) {
  ServerConfig tls_only = Config("0.0.0.0:1");
  tls_only.tls.cert_file = "c.pem";
  tls_only.tls.key_file = "k.pem";
  const absl::Status no_auth = CheckListenSecurity(tls_only);
  EXPECT_FALSE(no_auth.ok());
  EXPECT_THAT(no_auth.message(), HasSubstr("without authentication"));

  ServerConfig auth_only = Config("0.0.0.0:1");
  auth_only.auth.tokens_file = "tokens.json";
  const absl::Status no_tls = CheckListenSecurity(auth_only);
  EXPECT_FALSE(no_tls.ok());
  EXPECT_THAT(no_tls.message(), HasSubstr("without TLS"));
  EXPECT_THAT(no_tls.message(), Not(HasSubstr("and authentication")));
}

TEST(ListenPolicy, TlsWithAnyAuthenticationServesAnyAddress) {
  for (int auth = 0; auth < 3; ++auth) {
    ServerConfig config = Config("[::]:50051");
    config.tls.cert_file = "c.pem";
    config.tls.key_file = "k.pem";
    if (auth == 0) config.auth.tokens_file = "tokens.json";
    if (auth == 1) config.auth.jwt_key_file = "jwt.pem";
    if (auth == 2) config.tls.client_ca_file = "ca.pem";
    EXPECT_TRUE(CheckListenSecurity(config).ok()) << auth;
    EXPECT_TRUE(AuthenticationConfigured(config));
  }
}

TEST(ListenPolicy, InsecureAllowsEverything) {
  ServerConfig config = Config("0.0.0.0:50051", "0.0.0.0:9464");
  config.insecure = true;
  EXPECT_TRUE(CheckListenSecurity(config).ok());
}

TEST(ListenPolicy, OpenMetricsNeedTlsAndBasicAuth) {
  ServerConfig config = Config("127.0.0.1:50051", "0.0.0.0:9464");
  const absl::Status refused = CheckListenSecurity(config);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("--metrics-listen 0.0.0.0:9464"));
  EXPECT_THAT(refused.message(), HasSubstr("--metrics-basic-auth"));

  config.tls.metrics_basic_auth_file = "users";
  EXPECT_THAT(CheckListenSecurity(config).message(),
              HasSubstr("without TLS (--metrics-tls-cert"));
  config.tls.metrics_cert_file = "c.pem";
  config.tls.metrics_key_file = "k.pem";
  EXPECT_TRUE(CheckListenSecurity(config).ok());
  config.metrics_listen.clear();  // metrics off
  config.tls = {};
  EXPECT_TRUE(CheckListenSecurity(config).ok());
}

}  // namespace
}  // namespace corosched::server
