// The Worker built from ClientOptions: the token and namespace on every
// call it makes (receiving, heartbeats, answers), and connection options it
// cannot use refused at Start, before any call.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "client/testing/fake_work_service.h"
#include "client/worker.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using testing::FakeWorkServer;
using testing::FakeWorkService;
using Transport = WorkerOptions::Transport;

constexpr absl::Duration kWait = absl::Seconds(15);

WorkerOptions FastOptions(Transport transport) {
  WorkerOptions options;
  options.transport = transport;
  options.poll_wait = absl::Seconds(5);
  options.call_timeout = absl::Seconds(5);
  return options;
}

class WorkerHeadersTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }
  FakeWorkService& fake() { return server_.service(); }
  FakeWorkServer server_;
};

INSTANTIATE_TEST_SUITE_P(Transports, WorkerHeadersTest,
                         ::testing::Values(Transport::kStream,
                                           Transport::kPoll),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::kStream ? "Stream"
                                                                   : "Poll";
                         });

TEST_P(WorkerHeadersTest, SendsTheTokenAndNamespaceOnEveryCall) {
  absl::Notification beaten;
  Worker worker(ClientOptions{.address = server_.address(),
                              .token = "s3cr3t-token",
                              .namespace_name = "billing"},
                FastOptions(GetParam()));
  ASSERT_TRUE(worker
                  .Handle("jobs", 1,
                          [&](WorkContext& work)
                              -> absl::StatusOr<google::protobuf::Value> {
                            beaten.WaitForNotificationWithTimeout(kWait);
                            if (work.task_id() == "task-2") {
                              return absl::InternalError("second fails");
                            }
                            return work.input();
                          })
                  .ok());
  const std::string token = fake().Enqueue(
      "jobs", "task-1", {}, /*heartbeat=*/absl::Milliseconds(300));
  fake().Enqueue("jobs", "task-2");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(fake().WaitForHeartbeats(token, 1, kWait));
  beaten.Notify();
  ASSERT_TRUE(fake().WaitForAnswers(2, kWait));
  worker.Stop();

  const auto seen = fake().headers_seen();
  const std::string receiver =
      GetParam() == Transport::kStream ? "WorkStream" : "PollWork";
  for (const std::string& method :
       {receiver, std::string("HeartbeatWork"), std::string("CompleteWork"),
        std::string("FailWork")}) {
    auto it = seen.find(method);
    ASSERT_NE(it, seen.end()) << method << " was not called";
    EXPECT_EQ(it->second.authorization, "Bearer s3cr3t-token") << method;
    EXPECT_EQ(it->second.namespace_name, "billing") << method;
  }
}

TEST(WorkerConnectionTest, WithoutTokenOrNamespaceSendsNeitherHeader) {
  FakeWorkServer server;
  ASSERT_TRUE(server.ok());
  Worker worker(ClientOptions{.address = server.address()},
                FastOptions(Transport::kStream));
  ASSERT_TRUE(
      worker
          .Handle(
              "jobs", 1,
              [](WorkContext& work) -> absl::StatusOr<google::protobuf::Value> {
                return work.input();
              })
          .ok());
  server.service().Enqueue("jobs", "task-1");
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(server.service().WaitForAnswers(1, kWait));
  worker.Stop();
  const auto seen = server.service().headers_seen();
  ASSERT_TRUE(seen.contains("CompleteWork"));
  EXPECT_EQ(seen.at("CompleteWork").authorization, "");
  EXPECT_EQ(seen.at("CompleteWork").namespace_name, "");
}

TEST(WorkerConnectionTest, StartRefusesOptionsItCannotUseBeforeAnyCall) {
  FakeWorkServer server;
  ASSERT_TRUE(server.ok());
  auto echo = [](WorkContext& work) -> absl::StatusOr<google::protobuf::Value> {
    return work.input();
  };

  Worker bad_namespace(ClientOptions{.address = server.address(),
                                     .namespace_name = "no spaces"});
  ASSERT_TRUE(bad_namespace.Handle("jobs", 1, echo).ok());
  absl::Status started = bad_namespace.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(started.message(), "namespace")) << started;

  Worker missing_ca(
      ClientOptions{.address = server.address(),
                    .tls = {.ca_file = "/nonexistent/corosched-ca.pem"}});
  ASSERT_TRUE(missing_ca.Handle("jobs", 1, echo).ok());
  started = missing_ca.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      absl::StrContains(started.message(), "/nonexistent/corosched-ca.pem"))
      << started;

  EXPECT_EQ(server.service().streams_opened(), 0);
  EXPECT_EQ(server.service().polls(), 0);
}

}  // namespace
}  // namespace corosched
