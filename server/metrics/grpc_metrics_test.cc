#include "server/metrics/grpc_metrics.h"

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "gtest/gtest.h"
#include "server/metrics/test_families.h"

namespace corosched::server {
namespace {

using testing::FindFamily;
using testing::FindSeries;

constexpr char kFamily[] = "corosched_grpc_request_duration_seconds";

// Answers GetQueueStats with OK and WakeTask with NOT_FOUND; every other
// method is the generated UNIMPLEMENTED.
class FakeScheduler final : public v1::Scheduler::CallbackService {
  grpc::ServerUnaryReactor* GetQueueStats(grpc::CallbackServerContext* context,
                                          const v1::GetQueueStatsRequest*,
                                          v1::QueueStats*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* WakeTask(grpc::CallbackServerContext* context,
                                     const v1::WakeTaskRequest*,
                                     v1::WakeTaskResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such task"));
    return reactor;
  }
};

// A server on a free loopback port with the metrics interceptor.
class GrpcMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        creators;
    creators.push_back(metrics_->NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Scheduler::NewStub(channel_);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // A call to a method the server does not know.
  grpc::Status CallUnknownMethod() {
    grpc::TemplatedGenericStub<google::protobuf::StringValue,
                               google::protobuf::StringValue>
        stub(channel_);
    google::protobuf::StringValue request, response;
    grpc::ClientContext context;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&context, "/made.up.Service/Method" + std::to_string(7),
                   grpc::StubOptions(), &request, &response,
                   [&](grpc::Status result) {
                     status = std::move(result);
                     done.Notify();
                   });
    done.WaitForNotification();
    return status;
  }

  uint64_t Calls(const std::string& method, const std::string& code) {
    const std::vector<prometheus::MetricFamily> families = metrics_->Collect();
    const prometheus::ClientMetric* series = FindSeries(
        FindFamily(families, kFamily), {{"method", method}, {"code", code}});
    return series == nullptr ? 0 : series->histogram.sample_count;
  }

  std::shared_ptr<GrpcMetrics> metrics_ = std::make_shared<GrpcMetrics>();
  FakeScheduler service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

TEST_F(GrpcMetricsTest, CountsEachCallByMethodAndCode) {
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    v1::QueueStats stats;
    ASSERT_TRUE(stub_->GetQueueStats(&context, {}, &stats).ok());
  }
  {
    grpc::ClientContext context;
    v1::WakeTaskResponse response;
    EXPECT_EQ(stub_->WakeTask(&context, {}, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    v1::Task task;
    EXPECT_EQ(stub_->GetTask(&context, {}, &task).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  EXPECT_EQ(Calls("GetQueueStats", "OK"), 3u);
  EXPECT_EQ(Calls("WakeTask", "NOT_FOUND"), 1u);
  EXPECT_EQ(Calls("GetTask", "UNIMPLEMENTED"), 1u);
  EXPECT_EQ(Calls("WakeTask", "OK"), 0u);

  // Only series that saw a call are exported.
  const std::vector<prometheus::MetricFamily> families = metrics_->Collect();
  const prometheus::MetricFamily* family = FindFamily(families, kFamily);
  ASSERT_NE(family, nullptr);
  EXPECT_EQ(family->metric.size(), 3u);
  const auto& histogram =
      FindSeries(family, {{"method", "GetQueueStats"}, {"code", "OK"}})
          ->histogram;
  ASSERT_EQ(histogram.bucket.size(), 23u);  // 1us .. 10s, +Inf
  EXPECT_GT(histogram.sample_sum, 0);
  EXPECT_LT(histogram.sample_sum, 30);
}

TEST_F(GrpcMetricsTest, MadeUpMethodsShareTheUnknownLabel) {
  EXPECT_EQ(CallUnknownMethod().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Calls("unknown", "UNIMPLEMENTED"), 1u);
  EXPECT_EQ(metrics_->MethodIndex("/made.up.Service/Method8"),
            metrics_->MethodIndex("/made.up.Service/Method7"));
  EXPECT_NE(metrics_->MethodIndex("/corosched.v1.Scheduler/SubmitTask"),
            metrics_->MethodIndex("/made.up.Service/Method7"));
  EXPECT_NE(metrics_->MethodIndex("/grpc.health.v1.Health/Check"),
            metrics_->MethodIndex("/made.up.Service/Method7"));
}

TEST(GrpcMetricsRecordTest, KnowsEverySchedulerMethod) {
  GrpcMetrics metrics;
  const int unknown = metrics.MethodIndex("/x/y");
  for (const char* method :
       {"RegisterDefinition", "GetDefinition", "ListDefinitions", "SubmitTask",
        "SubmitTasks", "WakeTask", "GetTask", "ListTasks", "WatchTask",
        "CancelTask", "GetQueueStats"}) {
    const int index =
        metrics.MethodIndex(std::string("/corosched.v1.Scheduler/") + method);
    EXPECT_NE(index, unknown) << method;
    metrics.Record(index, grpc::StatusCode::OK, absl::Microseconds(5));
    const std::vector<prometheus::MetricFamily> families = metrics.Collect();
    EXPECT_NE(FindSeries(FindFamily(families, kFamily),
                         {{"method", method}, {"code", "OK"}}),
              nullptr)
        << method;
  }
}

}  // namespace
}  // namespace corosched::server
