// /metrics over HTTPS: MetricsEndpoint with a TlsFront, driven by an
// OpenSSL client with certificates made in the test.

#include "server/metrics/tls_front.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/host_port.h"
#include "server/metrics/metrics_endpoint.h"
#include "server/metrics/server_metrics.h"
#include "tests/testing/http_get.h"
#include "tests/testing/test_certificates.h"

namespace corosched::server {
namespace {

using ::corosched::testing::TestCa;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// GET /metrics over TLS from `address` (127.0.0.1:port), trusting `ca_pem`
// and checking the certificate is for 127.0.0.1, with `authorization` as
// the Authorization header unless empty: the whole answer, or "" when the
// connection or the handshake failed.
std::string HttpsGet(const std::string& address, const std::string& ca_pem,
                     const std::string& authorization = "") {
  const absl::StatusOr<HostPort> parsed = SplitHostPort(address);
  if (!parsed.ok()) return "";
  sockaddr_in peer = {};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(parsed->port);
  inet_pton(AF_INET, parsed->host.c_str(), &peer.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout = absl::ToTimeval(absl::Seconds(5));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof(peer)) != 0) {
    close(fd);
    return "";
  }
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(context), ca);
  X509_free(ca);
  BIO_free(bio);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(context);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), parsed->host.c_str());
  SSL_set_fd(ssl, fd);
  std::string answer;
  if (SSL_connect(ssl) == 1) {
    std::string request = "GET /metrics HTTP/1.0\r\nHost: metrics\r\n";
    if (!authorization.empty()) {
      absl::StrAppend(&request, "Authorization: ", authorization, "\r\n");
    }
    request += "\r\n";
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    char buffer[4096];
    int n = 0;
    while ((n = SSL_read(ssl, buffer, sizeof(buffer))) > 0) {
      answer.append(buffer, static_cast<size_t>(n));
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(context);
  close(fd);
  return answer;
}

class MetricsTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("metrics_tls_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const testing::CertifiedKey server = ca_.Issue(
        {.common_name = "metrics", .subject_alt_names = "IP:127.0.0.1"});
    security_.cert_file = Write("cert.pem", server.cert_pem);
    security_.key_file = Write("key.pem", server.key_pem);
    metrics_->OnTaskSubmitted();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    EXPECT_TRUE(testing::WriteFileAtomically(path, text).ok());
    return path;
  }

  std::filesystem::path dir_;
  const TestCa ca_ = TestCa::Create("metrics-ca");
  MetricsEndpointSecurity security_;
  std::shared_ptr<ServerMetrics> metrics_ = std::make_shared<ServerMetrics>();
};

TEST_F(MetricsTls, ServesTheMetricsToAClientTrustingTheCa) {
  auto endpoint =
      MetricsEndpoint::Start("127.0.0.1:0", {metrics_}, {}, security_);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const std::string answer = HttpsGet((*endpoint)->address(), ca_.cert_pem());
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(answer, HasSubstr("corosched_tasks_submitted_total 1"));
  EXPECT_EQ(
      HttpsGet((*endpoint)->address(), TestCa::Create("another-ca").cert_pem()),
      "");
}

TEST_F(MetricsTls, PlaintextToTheHttpsPortGetsNoAnswer) {
  auto endpoint =
      MetricsEndpoint::Start("127.0.0.1:0", {metrics_}, {}, security_);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  auto plain =
      testing::HttpGet((*endpoint)->address(), "/metrics", absl::Seconds(5));
  EXPECT_FALSE(plain.ok() && plain->status == 200);
}

TEST_F(MetricsTls, BasicAuthIsCheckedBehindTheTls) {
  // sha256("pw").
  const std::string users = Write(
      "users",
      "prom:"
      "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4\n");
  auto loaded = BasicAuthUsers::Load(users, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  security_.users = *loaded;
  auto endpoint =
      MetricsEndpoint::Start("127.0.0.1:0", {metrics_}, {}, security_);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const std::string address = (*endpoint)->address();
  EXPECT_THAT(HttpsGet(address, ca_.cert_pem()), StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(HttpsGet(address, ca_.cert_pem(),
                       "Basic " + absl::Base64Escape("prom:nope")),
              StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(HttpsGet(address, ca_.cert_pem(),
                       "Basic " + absl::Base64Escape("prom:pw")),
              StartsWith("HTTP/1.1 200"));
}

TEST_F(MetricsTls, AKeyOfAnotherCertificateIsRefused) {
  security_.key_file =
      Write("other.pem", ca_.Issue({.common_name = "x"}).key_pem);
  auto endpoint =
      MetricsEndpoint::Start("127.0.0.1:0", {metrics_}, {}, security_);
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(endpoint.status().message(),
              HasSubstr("--metrics-tls-key " + security_.key_file));
}

TEST_F(MetricsTls, DropsAClientThatStallsAndStopsWithinTheRequestTimeout) {
  auto endpoint = MetricsEndpoint::Start(
      "127.0.0.1:0", {metrics_},
      {.threads = 2, .request_timeout = absl::Milliseconds(200)}, security_);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  // Connected, and silent: no handshake within the request timeout.
  auto dropped = testing::StalledHttpRequest::Open((*endpoint)->address(), "");
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_TRUE((*dropped)->ClosedByServer(absl::Seconds(5)));
  // Plaintext where a handshake should be: dropped at once.
  auto plain = testing::StalledHttpRequest::Open((*endpoint)->address());
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE((*plain)->ClosedByServer(absl::Seconds(5)));
  // Answers while another client stalls.
  auto stalled = testing::StalledHttpRequest::Open((*endpoint)->address(), "");
  ASSERT_TRUE(stalled.ok()) << stalled.status();
  EXPECT_THAT(HttpsGet((*endpoint)->address(), ca_.cert_pem()),
              StartsWith("HTTP/1.1 200"));
  const absl::Time begin = absl::Now();
  endpoint->reset();
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(1500));
}

}  // namespace
}  // namespace corosched::server
