// The Client against an in-process fake of the Scheduler service on a
// loopback port: what the client adds on top of the stub (deadlines, status
// mapping, stream handling, waiting, health, channel limits). The real
// daemon is driven end to end by tests/client/.

#include "client/client.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::TaskEvent Output(uint64_t sequence, absl::string_view text) {
  v1::TaskEvent event;
  event.set_sequence(sequence);
  event.mutable_output()->set_sequence(sequence);
  event.mutable_output()->set_text(std::string(text));
  return event;
}

v1::TaskEvent Finished(uint64_t sequence, v1::TaskStatus status) {
  v1::TaskEvent event;
  event.set_sequence(sequence);
  event.mutable_finished()->set_status(status);
  return event;
}

// Task "hello" prints Hello, World! and completes; "endless" sends one event
// and then nothing until the client goes away; "cut" ends its stream without
// a finished event; anything else is NOT_FOUND.
class FakeScheduler final : public v1::Scheduler::Service {
 public:
  grpc::Status SubmitTask(grpc::ServerContext*,
                          const v1::SubmitTaskRequest* request,
                          v1::SubmitTaskResponse* response) override {
    if (request->definition().name() == "refused") {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "admission is full (2 of 2)");
    }
    response->mutable_task()->set_id(
        request->task_id().empty() ? std::string("hello") : request->task_id());
    response->set_created(true);
    return grpc::Status::OK;
  }

  grpc::Status SubmitTasks(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::SubmitTasksResponse, v1::SubmitTaskRequest>*
          stream) override {
    v1::SubmitTaskRequest request;
    for (uint64_t index = 0; stream->Read(&request); ++index) {
      v1::SubmitTasksResponse response;
      response.set_index(index);
      if (request.definition().name() == "bad") {
        response.set_code(grpc::StatusCode::INVALID_ARGUMENT);
        response.set_message("definition.initial: required");
      } else {
        response.mutable_response()->mutable_task()->set_id(request.task_id());
      }
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status GetTask(grpc::ServerContext*, const v1::GetTaskRequest* request,
                       v1::Task* task) override {
    if (request->task_id() == "big") {
      task->set_result(std::string(8 << 10, 'x'));
      return grpc::Status::OK;
    }
    if (request->task_id() != "hello") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("no task ", request->task_id()));
    }
    task->set_id("hello");
    task->set_status(v1::TASK_STATUS_COMPLETED);
    return grpc::Status::OK;
  }

  grpc::Status WatchTask(grpc::ServerContext* context,
                         const v1::WatchTaskRequest* request,
                         grpc::ServerWriter<v1::TaskEvent>* writer) override {
    const std::string& id = request->task_id();
    if (id == "hello") {
      writer->Write(Output(1, "Hello, "));
      writer->Write(Output(2, "World!\n"));
      writer->Write(Finished(3, v1::TASK_STATUS_COMPLETED));
      return grpc::Status::OK;
    }
    if (id == "cut") {
      writer->Write(Output(1, "partial"));
      return grpc::Status::OK;
    }
    if (id == "endless") {
      writer->Write(Output(1, "tick"));
      // Bounded: the client cancels well before this.
      for (int i = 0; i < 1000 && !context->IsCancelled(); ++i) {
        client_gone.WaitForNotificationWithTimeout(absl::Milliseconds(10));
      }
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no task " + id);
  }

  grpc::Status GetQueueStats(grpc::ServerContext* context,
                             const v1::GetQueueStatsRequest*,
                             v1::QueueStats* stats) override {
    // Slow until released: lets a test miss its deadline.
    for (int i = 0; i < 1000 && !context->IsCancelled(); ++i) {
      if (release_stats.WaitForNotificationWithTimeout(
              absl::Milliseconds(10))) {
        break;
      }
    }
    stats->set_workers(2);
    return grpc::Status::OK;
  }

  absl::Notification release_stats;
  absl::Notification client_gone;
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = absl::StrCat("127.0.0.1:", port);
    client_ = std::make_unique<Client>(ClientOptions{.address = address_});
  }

  void TearDown() override {
    if (!service_.release_stats.HasBeenNotified()) {
      service_.release_stats.Notify();
    }
    service_.client_gone.Notify();
    server_->Shutdown();
  }

  FakeScheduler service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, ReportsItsVersion) { EXPECT_EQ(ClientVersion(), "0.1.0"); }

TEST_F(ClientTest, ReturnsTheDaemonsStatusAndMessage) {
  absl::StatusOr<v1::Task> task = client_->GetTask("nope");
  EXPECT_EQ(task.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(task.status().message(), "no task nope");

  v1::SubmitTaskRequest refused;
  refused.mutable_definition()->set_name("refused");
  EXPECT_EQ(client_->SubmitTask(refused).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(ClientTest, GivesUpAtTheCallsDeadline) {
  absl::StatusOr<v1::QueueStats> stats =
      client_->GetQueueStats({.timeout = absl::Milliseconds(50)});
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDeadlineExceeded);
  service_.release_stats.Notify();
  stats = client_->GetQueueStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->workers(), 2u);
}

TEST_F(ClientTest, RefusesMessagesLargerThanTheChannelAllows) {
  Client small({.address = address_, .max_message_bytes = 1024});
  EXPECT_EQ(small.GetTask("big").status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(client_->GetTask("big").ok());
}

TEST_F(ClientTest, IsUnavailableWhenNoDaemonListens) {
  // Port 1 on loopback: nothing listens there in a test environment.
  Client nowhere({.address = "127.0.0.1:1"});
  EXPECT_EQ(nowhere.GetTask("x").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(nowhere.Health().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ClientTest, ChecksHealth) {
  absl::StatusOr<ServingStatus> health = client_->Health();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, ServingStatus::kServing);
  server_->GetHealthCheckService()->SetServingStatus(false);
  EXPECT_EQ(client_->Health().value_or(ServingStatus::kUnknown),
            ServingStatus::kNotServing);
  EXPECT_EQ(ServingStatusName(ServingStatus::kNotServing), "NOT_SERVING");
}

TEST_F(ClientTest, SubmitsAStreamAndAnswersEachItemInOrder) {
  std::vector<v1::SubmitTaskRequest> requests(300);
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].set_task_id(absl::StrCat("t", i));
    requests[i].mutable_definition()->set_name(i % 100 == 7 ? "bad" : "ok");
  }
  auto results = client_->SubmitTasks(requests);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (i % 100 == 7) {
      EXPECT_EQ((*results)[i].status().code(),
                absl::StatusCode::kInvalidArgument);
      EXPECT_EQ((*results)[i].status().message(),
                "definition.initial: required");
    } else {
      ASSERT_TRUE((*results)[i].ok()) << i;
      EXPECT_EQ((*results)[i]->task().id(), absl::StrCat("t", i));
    }
  }
  EXPECT_TRUE(client_->SubmitTasks({}).value().empty());
}

TEST_F(ClientTest, SubmitsAndWaitsForTheOutput) {
  v1::SubmitTaskRequest request;
  request.mutable_definition()->set_name("hello");
  std::vector<uint64_t> seen;
  absl::StatusOr<TaskOutcome> outcome = client_->SubmitAndWait(
      request, {},
      [&](const v1::TaskEvent& e) { seen.push_back(e.sequence()); });
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->output, "Hello, World!\n");
  EXPECT_EQ(outcome->task.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_THAT(seen, ElementsAre(1, 2, 3));
}

TEST_F(ClientTest, WaitingFailsWhenTheStreamEndsBeforeTheTask) {
  absl::StatusOr<TaskOutcome> outcome = client_->WaitForTask("cut");
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(outcome.status().message(), HasSubstr("after_sequence"));
  EXPECT_EQ(client_->WaitForTask("nope").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ClientTest, StopsWatchingWhenTheCallbackSaysSo) {
  v1::WatchTaskRequest request;
  request.set_task_id("endless");
  int events = 0;
  absl::Status status = client_->WatchTask(request, [&](const v1::TaskEvent&) {
    ++events;
    return false;
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(events, 1);
}

TEST_F(ClientTest, CancelsAWatchFromAnotherThread) {
  v1::WatchTaskRequest request;
  request.set_task_id("endless");
  std::unique_ptr<TaskWatch> watch = client_->StartWatch(request);
  v1::TaskEvent event;
  ASSERT_TRUE(watch->Next(&event));
  EXPECT_EQ(event.output().text(), "tick");
  std::thread canceller([&] { watch->Cancel(); });
  EXPECT_FALSE(watch->Next(&event));
  canceller.join();
  EXPECT_EQ(watch->Finish().code(), absl::StatusCode::kCancelled);
}

TEST_F(ClientTest, AWatchDroppedMidStreamIsCleanedUp) {
  v1::WatchTaskRequest request;
  request.set_task_id("endless");
  std::unique_ptr<TaskWatch> watch = client_->StartWatch(request);
  v1::TaskEvent event;
  ASSERT_TRUE(watch->Next(&event));
  watch.reset();  // must not hang or leak (ASan checks the latter)
  EXPECT_TRUE(client_->GetTask("hello").ok());
}

TEST_F(ClientTest, AWatchHonoursItsDeadline) {
  v1::WatchTaskRequest request;
  request.set_task_id("endless");
  absl::Status status =
      client_->WatchTask(request, [](const v1::TaskEvent&) { return true; },
                         {.timeout = absl::Milliseconds(100)});
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace corosched
