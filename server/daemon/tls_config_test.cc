// The transport-security flags of config.h: TLS files, reload interval,
// --insecure, --reflection, and the /metrics security files.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/daemon/config.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                  std::map<std::string, std::string> env = {}) {
  auto lookup = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return ParseCommandLine(args, lookup);
}

TEST(TlsFlags, DefaultsAreOffExceptReflection) {
  auto parsed = Parse({});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ServerConfig& config = parsed->config;
  EXPECT_EQ(config.tls.cert_file, "");
  EXPECT_EQ(config.tls.key_file, "");
  EXPECT_EQ(config.tls.client_ca_file, "");
  EXPECT_EQ(config.tls.metrics_basic_auth_file, "");
  EXPECT_EQ(config.credentials_reload_interval, absl::Seconds(10));
  EXPECT_FALSE(config.insecure);
  EXPECT_TRUE(config.reflection);
}

TEST(TlsFlags, ReadsEveryFlag) {
  auto parsed =
      Parse({"--tls-cert", "c.pem", "--tls-key=k.pem", "--tls-client-ca",
             "ca.pem", "--credentials-reload-interval=2m", "--insecure=true",
             "--reflection", "false", "--metrics-tls-cert", "mc.pem",
             "--metrics-tls-key", "mk.pem", "--metrics-basic-auth", "users"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ServerConfig& config = parsed->config;
  EXPECT_EQ(config.tls.cert_file, "c.pem");
  EXPECT_EQ(config.tls.key_file, "k.pem");
  EXPECT_EQ(config.tls.client_ca_file, "ca.pem");
  EXPECT_EQ(config.credentials_reload_interval, absl::Minutes(2));
  EXPECT_TRUE(config.insecure);
  EXPECT_FALSE(config.reflection);
  EXPECT_EQ(config.tls.metrics_cert_file, "mc.pem");
  EXPECT_EQ(config.tls.metrics_key_file, "mk.pem");
  EXPECT_EQ(config.tls.metrics_basic_auth_file, "users");
}

TEST(TlsFlags, EnvironmentSetsThemToo) {
  auto parsed = Parse({}, {{"COROSCHED_TLS_CERT", "c.pem"},
                           {"COROSCHED_TLS_KEY", "k.pem"},
                           {"COROSCHED_TLS_CLIENT_CA", "ca.pem"},
                           {"COROSCHED_CREDENTIALS_RELOAD_INTERVAL", "1s"},
                           {"COROSCHED_INSECURE", "true"},
                           {"COROSCHED_REFLECTION", "false"},
                           {"COROSCHED_METRICS_TLS_CERT", "mc.pem"},
                           {"COROSCHED_METRICS_TLS_KEY", "mk.pem"},
                           {"COROSCHED_METRICS_BASIC_AUTH", "users"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ServerConfig& config = parsed->config;
  EXPECT_EQ(config.tls.cert_file, "c.pem");
  EXPECT_EQ(config.tls.client_ca_file, "ca.pem");
  EXPECT_EQ(config.credentials_reload_interval, absl::Seconds(1));
  EXPECT_TRUE(config.insecure);
  EXPECT_FALSE(config.reflection);
  EXPECT_EQ(config.tls.metrics_key_file, "mk.pem");
  EXPECT_EQ(config.tls.metrics_basic_auth_file, "users");
}

TEST(TlsFlags, ASwitchAloneIsTrue) {
  auto last = Parse({"--insecure"});
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_TRUE(last->config.insecure);
  auto before_a_flag = Parse({"--insecure", "--listen", "0.0.0.0:1"});
  ASSERT_TRUE(before_a_flag.ok()) << before_a_flag.status();
  EXPECT_TRUE(before_a_flag->config.insecure);
  EXPECT_EQ(before_a_flag->config.listen, "0.0.0.0:1");
  auto reflection = Parse({"--reflection", "--insecure", "false"});
  ASSERT_TRUE(reflection.ok()) << reflection.status();
  EXPECT_TRUE(reflection->config.reflection);
  EXPECT_FALSE(reflection->config.insecure);
}

TEST(TlsFlags, CertificateAndKeyGoTogether) {
  auto cert_only = Parse({"--tls-cert", "c.pem"});
  EXPECT_EQ(cert_only.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cert_only.status().message(),
              HasSubstr("--tls-cert and --tls-key go together"));
  auto key_only = Parse({}, {{"COROSCHED_TLS_KEY", "k.pem"}});
  EXPECT_FALSE(key_only.ok());
  auto metrics_key_only = Parse({"--metrics-tls-key", "k.pem"});
  EXPECT_THAT(metrics_key_only.status().message(),
              HasSubstr("--metrics-tls-cert and --metrics-tls-key"));
}

TEST(TlsFlags, ClientCaNeedsTls) {
  auto parsed = Parse({"--tls-client-ca", "ca.pem"});
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("--tls-client-ca needs --tls-cert and --tls-key"));
}

TEST(TlsFlags, BadValuesSayWhatIsAccepted) {
  EXPECT_THAT(Parse({"--insecure=yes"}).status().message(),
              HasSubstr("--insecure=yes: expected true or false"));
  EXPECT_THAT(Parse({}, {{"COROSCHED_REFLECTION", "off"}}).status().message(),
              HasSubstr("COROSCHED_REFLECTION=off: expected true or false"));
  for (const char* bad : {"0s", "500ms", "1500ms", "25h", "ten"}) {
    EXPECT_THAT(
        Parse({"--credentials-reload-interval", bad}).status().message(),
        HasSubstr("expected whole seconds from 1s to 24h"))
        << bad;
  }
}

TEST(TlsFlags, HelpListsThem) {
  const std::string help = HelpText();
  for (const char* text :
       {"--tls-cert FILE", "COROSCHED_TLS_CERT, default none", "--tls-key",
        "--tls-client-ca", "--credentials-reload-interval DURATION",
        "COROSCHED_CREDENTIALS_RELOAD_INTERVAL, default 10s",
        "--insecure true|false", "COROSCHED_INSECURE, default false",
        "--reflection true|false", "COROSCHED_REFLECTION, default true",
        "--metrics-tls-cert", "--metrics-tls-key", "--metrics-basic-auth",
        "COROSCHED_METRICS_BASIC_AUTH"}) {
    EXPECT_THAT(help, HasSubstr(text));
  }
}

}  // namespace
}  // namespace corosched::server
