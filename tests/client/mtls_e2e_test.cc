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

// The suite's credentials directory and daemon: made by SetUpTestSuite (on
// the main thread, as ServerProcess requires), removed by TearDownTestSuite.
std::string* suite_dir = nullptr;
ServerProcess* suite_daemon = nullptr;

class MtlsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir = new std::string(
        absl::StrCat(::testing::TempDir(), "/mtls_e2e.", getpid()));
    std::filesystem::remove_all(*suite_dir);
    std::filesystem::create_directories(*suite_dir);
    ASSERT_TRUE(MakeCredentials(*suite_dir))
        << "openssl could not make the credentials in " << *suite_dir;
    absl::StatusOr<std::unique_ptr<ServerProcess>> daemon =
        ServerProcess::Start(
            {.args = {"--tls-cert", File("server.pem"), "--tls-key",
                      File("server.key"), "--tls-client-ca", File("ca.pem"),
                      "--auth-tokens", File("tokens.json")}});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    suite_daemon = daemon->release();
  }
  static void TearDownTestSuite() {
    if (suite_daemon != nullptr) {
      absl::StatusOr<int> code = suite_daemon->Stop();
      EXPECT_EQ(code.value_or(-1), 0) << suite_daemon->Stderr();
      delete suite_daemon;
      suite_daemon = nullptr;
    }
    if (suite_dir != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*suite_dir, ignored);
    }
    delete suite_dir;
    suite_dir = nullptr;
  }
  void SetUp() override { ASSERT_NE(suite_daemon, nullptr); }

  static std::string File(const std::string& name) {
    return absl::StrCat(*suite_dir, "/", name);
  }

  // `corosched --addr <daemon> connection... --namespace a args...`.
  static CliResult Cli(const std::vector<std::string>& connection,
                       const std::vector<std::string>& args) {
    std::vector<std::string> full = {"--addr",      suite_daemon->address(),
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
