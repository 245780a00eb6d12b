// What ClientOptions' token, namespace and TLS files do to a Client: the
// headers on every kind of call, and options that cannot be used refused
// before anything is sent. Real TLS handshakes are in tests/client/.

#include "client/connection.h"

#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/client.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

struct SeenHeaders {
  std::string authorization;  // "" when absent
  std::string namespace_name;
};

// Records the headers of each call; answers SubmitTask, SubmitTasks (each
// item) and WatchTask (one finished event).
class HeaderRecorder final : public v1::Scheduler::Service {
 public:
  std::map<std::string, SeenHeaders> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

  grpc::Status SubmitTask(grpc::ServerContext* context,
                          const v1::SubmitTaskRequest*,
                          v1::SubmitTaskResponse* response) override {
    Record("SubmitTask", *context);
    response->mutable_task()->set_id("t1");
    return grpc::Status::OK;
  }

  grpc::Status SubmitTasks(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::SubmitTasksResponse, v1::SubmitTaskRequest>*
          stream) override {
    Record("SubmitTasks", *context);
    v1::SubmitTaskRequest request;
    for (uint64_t index = 0; stream->Read(&request); ++index) {
      v1::SubmitTasksResponse response;
      response.set_index(index);
      response.mutable_response()->mutable_task()->set_id("t1");
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status WatchTask(grpc::ServerContext* context,
                         const v1::WatchTaskRequest*,
                         grpc::ServerWriter<v1::TaskEvent>* writer) override {
    Record("WatchTask", *context);
    v1::TaskEvent event;
    event.set_sequence(1);
    event.mutable_finished()->set_status(v1::TASK_STATUS_COMPLETED);
    writer->Write(event);
    return grpc::Status::OK;
  }

  grpc::Status GetTask(grpc::ServerContext* context, const v1::GetTaskRequest*,
                       v1::Task* task) override {
    Record("GetTask", *context);
    task->set_id("t1");
    return grpc::Status::OK;
  }

 private:
  void Record(const std::string& method, const grpc::ServerContext& context) {
    auto header = [&context](const char* name) {
      auto it = context.client_metadata().find(name);
      return it == context.client_metadata().end()
                 ? std::string()
                 : std::string(it->second.data(), it->second.size());
    };
    absl::MutexLock lock(&mu_);
    seen_[method] = {header("authorization"), header("corosched-namespace")};
  }

  mutable absl::Mutex mu_;
  std::map<std::string, SeenHeaders> seen_ ABSL_GUARDED_BY(mu_);
};

class ClientHeadersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }
  ClientOptions Options() const {
    return ClientOptions{.address = absl::StrCat("127.0.0.1:", port_)};
  }

  HeaderRecorder service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(ClientHeadersTest, SendsTheTokenAndNamespaceOnUnaryAndStreamingCalls) {
  ClientOptions options = Options();
  options.token = "tok-123.abc_DEF";
  options.namespace_name = "team-a";
  Client client(options);
  ASSERT_TRUE(client.Check().ok()) << client.Check();
  v1::SubmitTaskRequest request;
  request.mutable_definition()->set_name("hello");
  ASSERT_TRUE(client.SubmitAndWait(request).ok());  // unary + server stream
  const v1::SubmitTaskRequest batch[] = {request, request};
  ASSERT_TRUE(client.SubmitTasks(batch).ok());  // bidirectional stream

  const std::map<std::string, SeenHeaders> seen = service_.seen();
  for (const char* method :
       {"SubmitTask", "WatchTask", "GetTask", "SubmitTasks"}) {
    ASSERT_TRUE(seen.contains(method)) << method << " was not called";
    EXPECT_EQ(seen.at(method).authorization, "Bearer tok-123.abc_DEF")
        << method;
    EXPECT_EQ(seen.at(method).namespace_name, "team-a") << method;
  }
}

TEST_F(ClientHeadersTest, WithoutTokenOrNamespaceSendsNeitherHeader) {
  Client client(Options());
  ASSERT_TRUE(client.GetTask("t1").ok());
  const std::map<std::string, SeenHeaders> seen = service_.seen();
  ASSERT_TRUE(seen.contains("GetTask"));
  EXPECT_EQ(seen.at("GetTask").authorization, "");
  EXPECT_EQ(seen.at("GetTask").namespace_name, "");
}

TEST_F(ClientHeadersTest, AnInvalidNamespaceIsRefusedBeforeAnyCall) {
  for (const std::string& bad :
       {std::string("has space"), std::string("a/b"), std::string(65, 'x')}) {
    ClientOptions options = Options();
    options.namespace_name = bad;
    Client client(options);
    EXPECT_EQ(client.Check().code(), absl::StatusCode::kInvalidArgument) << bad;
    absl::StatusOr<v1::Task> task = client.GetTask("t1");
    EXPECT_EQ(task.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(task.status().message(), "namespace"))
        << task.status();
    v1::TaskEvent event;
    std::unique_ptr<TaskWatch> watch = client.StartWatch({});
    EXPECT_FALSE(watch->Next(&event));
    EXPECT_EQ(watch->Finish().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(service_.seen().empty());
}

TEST_F(ClientHeadersTest, ATokenThatCannotBeAHeaderIsRefusedWithoutShowingIt) {
  ClientOptions options = Options();
  options.token = "secret-part\nmore";
  Client client(options);
  absl::StatusOr<v1::Task> task = client.GetTask("t1");
  EXPECT_EQ(task.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(task.status().message(), "secret"))
      << task.status();
  options.token = std::string(4097, 'a');
  EXPECT_EQ(Client(options).Check().code(), absl::StatusCode::kInvalidArgument);
  options.token = std::string(4096, 'a');  // the daemon's limit
  EXPECT_TRUE(Client(options).Check().ok());
  EXPECT_TRUE(service_.seen().empty());
}

TEST(NewChannelTest, NamesTheTlsFileItCannotRead) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      NewChannel(ClientOptions{.tls = {.ca_file = "/nonexistent/dir/ca.pem"}});
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      absl::StrContains(channel.status().message(), "/nonexistent/dir/ca.pem"))
      << channel.status();
}

TEST(NewChannelTest, RefusesAFileWithoutTheExpectedPemBlock) {
  const std::string path = ::testing::TempDir() + "/not-a-ca.pem";
  std::ofstream(path) << "just text\n";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      NewChannel(ClientOptions{.tls = {.ca_file = path}});
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(channel.status().message(), path))
      << channel.status();
}

TEST(NewChannelTest, RefusesHalfAClientCertificateOrOneWithoutACa) {
  EXPECT_EQ(NewChannel(ClientOptions{.tls = {.ca_file = "ca.pem",
                                             .cert_file = "client.pem"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewChannel(ClientOptions{.tls = {.cert_file = "client.pem",
                                             .key_file = "client.key"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(NewChannel(ClientOptions{}).ok());
}

TEST(ValidateNamespaceNameTest, AcceptsTheDaemonsNames) {
  EXPECT_TRUE(ValidateNamespaceName("default").ok());
  EXPECT_TRUE(ValidateNamespaceName("a.b_c-D9").ok());
  EXPECT_TRUE(ValidateNamespaceName(std::string(64, 'n')).ok());
  EXPECT_FALSE(ValidateNamespaceName("").ok());
  EXPECT_FALSE(ValidateNamespaceName("é").ok());
}

}  // namespace
}  // namespace corosched
