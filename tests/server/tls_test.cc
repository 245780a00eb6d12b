// End-to-end: the daemon over TLS and mTLS with real handshakes
// (certificates made in the test), certificate reload without a restart,
// the secure-by-default listen rule, --reflection=false, and /metrics
// basic auth and HTTPS (curl).

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/server/tls_support.h"
#include "tests/testing/health_probe.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

using ::corosched::testing::ServerProcess;
using ::corosched::testing::ServerProcessOptions;
using ::testing::HasSubstr;

class TlsTest : public ::testing::Test {
 protected:
  // A daemon serving TLS with the directory's server certificate, then
  // `args`.
  std::unique_ptr<ServerProcess> StartTls(std::vector<std::string> args = {}) {
    std::vector<std::string> all = {"--durability", "none",
                                    "--tls-cert",   certs_.Path("server.pem"),
                                    "--tls-key",    certs_.Path("server.key")};
    all.insert(all.end(), args.begin(), args.end());
    auto server = ServerProcess::Start({.args = all});
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::unique_ptr<ServerProcess> StartMutualTls() {
    return StartTls({"--tls-client-ca", certs_.Path("ca.pem")});
  }

  CertificateDir certs_;
};

TEST_F(TlsTest, AClientTrustingTheCaCalls) {
  auto server = StartTls();
  ASSERT_NE(server, nullptr);
  auto channel = TlsChannel(server->address(), certs_.ca().cert_pem());
  EXPECT_TRUE(Connect(channel).ok());
  // And the Scheduler, beyond health.
  auto stub = v1::Scheduler::NewStub(channel);
  v1::ListDefinitionsResponse response;
  const grpc::Status listed = stub->ListDefinitions(
      Deadline().get(), v1::ListDefinitionsRequest(), &response);
  EXPECT_TRUE(listed.ok()) << listed.error_message();
  EXPECT_THAT(server->Stderr(),
              HasSubstr("event=tls_on cert=" + certs_.Path("server.pem")));
  EXPECT_THAT(server->Stderr(), HasSubstr("client_certificates=no"));
}

TEST_F(TlsTest, AClientTrustingAnotherCaFailsTheHandshake) {
  auto server = StartTls();
  ASSERT_NE(server, nullptr);
  const absl::Status status =
      Connect(TlsChannel(server->address(), certs_.other_ca().cert_pem()));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(TlsTest, PlaintextToTheTlsPortFails) {
  auto server = StartTls();
  ASSERT_NE(server, nullptr);
  const absl::Status status = Connect(server->NewChannel());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(TlsTest, MutualTlsServesAClientCertificateOfTheCa) {
  auto server = StartMutualTls();
  ASSERT_NE(server, nullptr);
  const absl::Status status = Connect(
      TlsChannel(server->address(), certs_.ca().cert_pem(), certs_.client()));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(server->Stderr(), HasSubstr("client_certificates=required"));
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutACertificate) {
  auto server = StartMutualTls();
  ASSERT_NE(server, nullptr);
  const absl::Status status =
      Connect(TlsChannel(server->address(), certs_.ca().cert_pem()));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(TlsTest, MutualTlsRefusesAnExpiredClientCertificate) {
  auto server = StartMutualTls();
  ASSERT_NE(server, nullptr);
  const absl::Status status = Connect(
      TlsChannel(server->address(), certs_.ca().cert_pem(), certs_.expired()));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(TlsTest, MutualTlsRefusesACertificateOfAnotherCa) {
  auto server = StartMutualTls();
  ASSERT_NE(server, nullptr);
  const absl::Status status = Connect(
      TlsChannel(server->address(), certs_.ca().cert_pem(), certs_.foreign()));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(TlsTest, ARenewedCertificateIsServedWithoutARestart) {
  auto server = StartTls({"--credentials-reload-interval", "1s"});
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(
      Connect(TlsChannel(server->address(), certs_.ca().cert_pem())).ok());
  certs_.RenewServerFromOtherCa();
  // Within the reload interval (and a margin), new connections get the
  // renewed certificate: a client trusting only the other CA connects...
  EXPECT_TRUE(WaitFor(
      [&] {
        return Connect(
                   TlsChannel(server->address(), certs_.other_ca().cert_pem()))
            .ok();
      },
      absl::Seconds(10)));
  // ... and one trusting only the first CA no longer does.
  EXPECT_EQ(
      Connect(TlsChannel(server->address(), certs_.ca().cert_pem())).code(),
      absl::StatusCode::kUnavailable);
  EXPECT_TRUE(server->running());
}

TEST_F(TlsTest, AKeyThatIsNotTheCertificatesIsRefusedAtStart) {
  auto server = ServerProcess::Launch(
      {.args = {"--durability", "none", "--tls-cert", certs_.Path("server.pem"),
                "--tls-key", certs_.Path("client.key")}});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->WaitForExit(absl::Seconds(20)).value_or(-1), 1);
  EXPECT_THAT((*server)->Stderr(),
              HasSubstr("--tls-key " + certs_.Path("client.key") +
                        ": is not the private key of the certificate"));
}

// Launches a daemon expected to refuse its start; its stderr.
std::string ExpectRefusedStart(ServerProcessOptions options) {
  auto server = ServerProcess::Launch(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return "";
  EXPECT_EQ((*server)->WaitForExit(absl::Seconds(20)).value_or(-1), 1)
      << (*server)->Stderr();
  return (*server)->Stderr();
}

TEST(InsecureListen, AWildcardWithoutTlsAndAuthenticationIsRefused) {
  const std::string log = ExpectRefusedStart(
      {.args = {"--durability", "none"}, .listen = "0.0.0.0:0"});
  EXPECT_THAT(log, HasSubstr("--listen 0.0.0.0:0 is not a loopback address"));
  EXPECT_THAT(log, HasSubstr("--insecure"));
}

TEST(InsecureListen, InsecureStartsItWithAWarning) {
  auto server = ServerProcess::Start(
      {.args = {"--durability", "none", "--insecure"}, .listen = "0.0.0.0:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT((*server)->Stderr(), HasSubstr("level=warning event=insecure"));
  EXPECT_EQ((*server)->Stop().value_or(-1), 0);
}

TEST(InsecureListen, TlsWithClientCertificatesServesAWildcard) {
  CertificateDir certs;
  auto server = ServerProcess::Start(
      {.args = {"--durability", "none", "--tls-cert", certs.Path("server.pem"),
                "--tls-key", certs.Path("server.key"), "--tls-client-ca",
                certs.Path("ca.pem")},
       .listen = "0.0.0.0:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string port =
      (*server)->address().substr((*server)->address().rfind(':'));
  const absl::Status status = Connect(
      TlsChannel("127.0.0.1" + port, certs.ca().cert_pem(), certs.client()));
  EXPECT_TRUE(status.ok()) << status;
}

TEST(InsecureListen, OpenMetricsWithoutBasicAuthAreRefused) {
  const std::string log = ExpectRefusedStart(
      {.args = {"--durability", "none"}, .metrics_listen = "0.0.0.0:0"});
  EXPECT_THAT(log, HasSubstr("--metrics-listen 0.0.0.0:0 is not a loopback"));
  EXPECT_THAT(log, HasSubstr("--metrics-basic-auth"));
}

// A unary call to `method` through a generic stub: its status.
grpc::Status GenericCall(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, method, request, &queue);
  call->StartCall();
  int tag = 1;
  call->Finish(&response, &status, &tag);
  void* got = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&got, &ok));
  queue.Shutdown();
  while (queue.Next(&got, &ok)) {
  }
  return status;
}

constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

TEST(Reflection, OffAnswersUnimplementedAndHealthStaysOpen) {
  auto server = ServerProcess::Start(
      {.args = {"--durability", "none", "--reflection", "false"}});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = (*server)->NewChannel();
  EXPECT_EQ(GenericCall(channel, kReflectionMethod).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(testing::CheckHealth(channel).value_or(-1),
            testing::kHealthServing);
}

TEST(Reflection, OnByDefault) {
  auto server = ServerProcess::Start({.args = {"--durability", "none"}});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_NE(
      GenericCall((*server)->NewChannel(), kReflectionMethod).error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
}

// A --metrics-basic-auth file granting prometheus:scrape-password.
std::string UsersFile(const CertificateDir& certs) {
  const std::string path = certs.Path("metrics-users");
  std::ofstream(path) << "prometheus:206cceae1d3043ad3d3ad74cd67d012b81c59f0"
                         "3115c6293ba733748beef5e23\n";
  return path;
}

TEST(MetricsSecurity, BasicAuthRefusesAWrongPasswordAndServesTheRightOne) {
  CertificateDir certs;
  auto server = ServerProcess::Start(
      {.args = {"--durability", "none", "--metrics-basic-auth",
                UsersFile(certs)}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string url =
      absl::StrCat("http://", (*server)->metrics_address(), "/metrics");
  EXPECT_EQ(CurlStatus("", url), 401);
  EXPECT_EQ(CurlStatus("-u prometheus:wrong", url), 401);
  EXPECT_EQ(CurlStatus("-u grafana:scrape-password", url), 401);
  EXPECT_EQ(CurlStatus("-u prometheus:scrape-password", url), 200);
}

TEST(MetricsSecurity, HttpsWithBasicAuthServesAClientTrustingTheCa) {
  CertificateDir certs;
  auto server = ServerProcess::Start(
      {.args = {"--durability", "none", "--metrics-tls-cert",
                certs.Path("server.pem"), "--metrics-tls-key",
                certs.Path("server.key"), "--metrics-basic-auth",
                UsersFile(certs)}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->metrics_address();
  const std::string url = absl::StrCat("https://", address, "/metrics");
  const std::string ca = "--cacert " + certs.Path("ca.pem");
  EXPECT_EQ(CurlStatus(ca + " -u prometheus:scrape-password", url), 200);
  EXPECT_EQ(CurlStatus(ca + " -u prometheus:wrong", url), 401);
  EXPECT_EQ(CurlStatus(ca, url), 401);
  // No answer (0) without trusting the CA, or in plaintext.
  EXPECT_EQ(CurlStatus("--cacert " + certs.Path("other-ca.pem") +
                           " -u prometheus:scrape-password",
                       url),
            0);
  EXPECT_EQ(CurlStatus("-u prometheus:scrape-password",
                       absl::StrCat("http://", address, "/metrics")),
            0);
  EXPECT_EQ((*server)->Stop().value_or(-1), 0) << (*server)->Stderr();
}

TEST(MetricsSecurity, AMetricsKeyThatIsNotTheCertificatesIsRefusedAtStart) {
  CertificateDir certs;
  const std::string log = ExpectRefusedStart(
      {.args = {"--durability", "none", "--metrics-tls-cert",
                certs.Path("server.pem"), "--metrics-tls-key",
                certs.Path("client.key")}});
  EXPECT_THAT(log, HasSubstr("--metrics-tls-key " + certs.Path("client.key") +
                             ": is not the private key"));
}

}  // namespace
}  // namespace corosched::e2e
