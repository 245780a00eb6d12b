// The CLI's TLS flags against a daemon that requires client certificates
// (--tls-client-ca): a certificate the tokens file maps to roles is an
// identity of its own; no certificate, a CA that did not sign the daemon's
// certificate, or a server name it does not carry, is no connection.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cli_process.h"
#include "tests/client/credentials.h"
#include "tests/testing/server_process.h"

#ifndef COROSCHED_CLI_PATH
#error "COROSCHED_CLI_PATH must name the corosched binary"
#endif
#ifndef COROSCHED_EXAMPLES_DIR
#error "COROSCHED_EXAMPLES_DIR must name examples/"
#endif

namespace corosched::testing {
namespace {

using ::testing::HasSubstr;

// Made by SetUpTestSuite, deleted by TearDownTestSuite.
CredentialedDaemon* suite = nullptr;

class MtlsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite =
        CredentialedDaemon::Start("mtls_e2e", [](const CredentialedDaemon& d) {
          return std::vector<std::string>{
              "--tls-cert",         d.File("server.pem"), "--tls-key",
              d.File("server.key"), "--tls-client-ca",    d.File("ca.pem"),
              "--auth-tokens",      d.File("tokens.json")};
        }).release();
  }
  static void TearDownTestSuite() {
    delete suite;
    suite = nullptr;
  }
  void SetUp() override { ASSERT_NE(suite, nullptr); }

  static std::string File(const std::string& name) { return suite->File(name); }

  // `corosched --addr <daemon> connection... --namespace a args...`.
  static CliResult Cli(const std::vector<std::string>& connection,
                       const std::vector<std::string>& args) {
    std::vector<std::string> full = {"--addr",      suite->daemon().address(),
                                     "--namespace", "a",
                                     "--timeout",   "5s"};
    full.insert(full.end(), connection.begin(), connection.end());
    full.insert(full.end(), args.begin(), args.end());
    return RunCli(COROSCHED_CLI_PATH, full);
  }
  static std::vector<std::string> WithCertificate() {
    return {"--tls-ca",         File("ca.pem"), "--tls-cert",
            File("client.pem"), "--tls-key",    File("client.key")};
  }
};

TEST_F(MtlsE2eTest, TheClientCertificateIsTheIdentity) {
  CliResult hello =
      Cli(WithCertificate(),
          {"submit", "-f", absl::StrCat(COROSCHED_EXAMPLES_DIR, "/hello.json"),
           "--wait"});
  EXPECT_EQ(hello.exit_code, 0) << hello.err;
  EXPECT_EQ(hello.out, "Hello, World!\n");
  // Its grants: read, submit and work in namespace a; not wake.
  CliResult stats = Cli(WithCertificate(), {"stats"});
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
}

TEST_F(MtlsE2eTest, ATokenAndTheCertificateTogetherWork) {
  std::vector<std::string> connection = WithCertificate();
  connection.insert(connection.end(), {"--token-file", File("a")});
  CliResult stats = Cli(connection, {"stats"});
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
}

TEST_F(MtlsE2eTest, NoCertificateIsNoConnection) {
  CliResult stats =
      Cli({"--tls-ca", File("ca.pem"), "--token-file", File("a")}, {"stats"});
  EXPECT_EQ(stats.exit_code, 3) << stats.err;
  EXPECT_THAT(stats.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(MtlsE2eTest, ACaThatDidNotSignTheDaemonIsNoConnection) {
  CliResult stats = Cli({"--tls-ca", File("other-ca.pem"), "--tls-cert",
                         File("client.pem"), "--tls-key", File("client.key")},
                        {"stats"});
  EXPECT_EQ(stats.exit_code, 3) << stats.err;
}

TEST_F(MtlsE2eTest, TheServerNameMustBeOneTheCertificateCarries) {
  std::vector<std::string> named = WithCertificate();
  named.insert(named.end(), {"--tls-server-name", "localhost"});
  CliResult right = Cli(named, {"stats"});
  EXPECT_EQ(right.exit_code, 0) << right.err;

  std::vector<std::string> misnamed = WithCertificate();
  misnamed.insert(misnamed.end(), {"--tls-server-name", "not-the-daemon"});
  CliResult wrong = Cli(misnamed, {"stats"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.err;
}

TEST_F(MtlsE2eTest, AnUnreadableKeyIsNamedBeforeAnyCall) {
  CliResult missing =
      Cli({"--tls-ca", File("ca.pem"), "--tls-cert", File("client.pem"),
           "--tls-key", File("no-such.key")},
          {"stats"});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_THAT(missing.err, HasSubstr(File("no-such.key")));
}

}  // namespace
}  // namespace corosched::testing
