#include "server/metrics/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/host_port.h"
#include "server/metrics/server_metrics.h"
#include "tests/testing/http_get.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A listening socket on a free loopback port, closed at destruction.
class BusyPort {
 public:
  BusyPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~BusyPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

int PortOf(const std::string& address) {
  absl::StatusOr<HostPort> parsed = SplitHostPort(address);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->port : 0;
}

TEST(MetricsEndpointTest, ServesTheCollectablesOnAFreePort) {
  auto metrics = std::make_shared<ServerMetrics>();
  metrics->OnTaskSubmitted();
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", {metrics});
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_THAT((*endpoint)->address(), StartsWith("127.0.0.1:"));
  EXPECT_GT(PortOf((*endpoint)->address()), 0);
  absl::StatusOr<testing::HttpResponse> response =
      testing::HttpGet((*endpoint)->address(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("corosched_tasks_submitted_total 1"));
  EXPECT_THAT(response->body, HasSubstr("# TYPE corosched_build_info gauge"));
}

TEST(MetricsEndpointTest, StopsWithinMilliseconds) {
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0",
                                         {std::make_shared<ServerMetrics>()});
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const std::string address = (*endpoint)->address();
  absl::SleepFor(absl::Milliseconds(50));  // the listener is in its poll
  const absl::Time begin = absl::Now();
  endpoint->reset();
  // civetweb alone would take up to its 2 s poll timeout.
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(500));
  EXPECT_FALSE(testing::HttpGet(address, "/metrics").ok());
}

// Opens `count` connections that each send half a request and stall.
std::vector<std::unique_ptr<testing::StalledHttpRequest>> StallClients(
    const std::string& address, int count) {
  std::vector<std::unique_ptr<testing::StalledHttpRequest>> stalled;
  for (int i = 0; i < count; ++i) {
    auto client = testing::StalledHttpRequest::Open(address);
    EXPECT_TRUE(client.ok()) << client.status();
    if (client.ok()) stalled.push_back(*std::move(client));
  }
  return stalled;
}

TEST(MetricsEndpointTest, AnswersAScrapeWhileClientsStallTheirRequests) {
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0",
                                         {std::make_shared<ServerMetrics>()});
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const auto stalled = StallClients((*endpoint)->address(), 8);
  // Held up by the stalled clients, the scrape would wait for civetweb's
  // 30 s default request timeout.
  absl::StatusOr<testing::HttpResponse> response = testing::HttpGet(
      (*endpoint)->address(), "/metrics", /*timeout=*/absl::Seconds(3));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
}

TEST(MetricsEndpointTest, DropsClientsThatStallPastTheRequestTimeout) {
  // More stalled clients than threads: the scrape waits for them to time out.
  auto endpoint = MetricsEndpoint::Start(
      "127.0.0.1:0", {std::make_shared<ServerMetrics>()},
      {.threads = 2, .request_timeout = absl::Milliseconds(200)});
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const auto stalled = StallClients((*endpoint)->address(), 8);
  absl::StatusOr<testing::HttpResponse> response = testing::HttpGet(
      (*endpoint)->address(), "/metrics", /*timeout=*/absl::Seconds(10));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  for (const auto& client : stalled) {
    EXPECT_TRUE(client->ClosedByServer(absl::Seconds(5)));
  }
}

TEST(MetricsEndpointTest, StopsWithinTheRequestTimeoutWhileAClientStalls) {
  auto endpoint = MetricsEndpoint::Start(
      "127.0.0.1:0", {std::make_shared<ServerMetrics>()},
      {.threads = 2, .request_timeout = absl::Milliseconds(200)});
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const auto stalled = StallClients((*endpoint)->address(), 1);
  absl::SleepFor(absl::Milliseconds(50));  // a thread waits for its request
  const absl::Time begin = absl::Now();
  endpoint->reset();
  // civetweb notices a stop within its 2 s poll quantum or the request
  // timeout, whichever is shorter.
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(1500));
}

TEST(MetricsEndpointTest, APortInUseIsAClearError) {
  BusyPort busy;
  const std::string listen = absl::StrCat("127.0.0.1:", busy.port());
  auto endpoint =
      MetricsEndpoint::Start(listen, {std::make_shared<ServerMetrics>()});
  ASSERT_FALSE(endpoint.ok());
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(endpoint.status().message(),
              HasSubstr("cannot serve metrics on " + listen));
  EXPECT_THAT(endpoint.status().message(), HasSubstr("already in use"));
  EXPECT_THAT(endpoint.status().message(), HasSubstr("--metrics-listen="));
}

TEST(MetricsEndpointTest, AnAddressOfAnotherMachineIsAClearError) {
  // TEST-NET-1 (RFC 5737): never an address of this machine.
  auto endpoint = MetricsEndpoint::Start("192.0.2.1:9464",
                                         {std::make_shared<ServerMetrics>()});
  ASSERT_FALSE(endpoint.ok());
  EXPECT_THAT(endpoint.status().message(),
              HasSubstr("cannot serve metrics on 192.0.2.1:9464"));
  EXPECT_THAT(endpoint.status().message(), HasSubstr("assign"));
}

}  // namespace
}  // namespace corosched::server
