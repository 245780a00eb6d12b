// End-to-end: bad input and rough clients, each answered with a clear status,
// and the daemon still healthy afterwards.

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/health_probe.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;

class BadInputTest : public DaemonTest {
 protected:
  // Called at the end of each test: the daemon still serves.
  void ExpectHealthy() {
    EXPECT_EQ(testing::CheckHealth(channel_).value_or(-1),
              testing::kHealthServing);
    v1::QueueStats stats;
    EXPECT_TRUE(stub_->GetQueueStats(Deadline().get(), {}, &stats).ok());
    v1::Task hello = Submit(*stub_, LoadExample("hello.json"));
    EXPECT_EQ(OutputText(Watch(*stub_, hello.id()).events), "Hello, World!\n");
  }

  grpc::Status SubmitRequest(const v1::SubmitTaskRequest& request) {
    v1::SubmitTaskResponse response;
    return stub_->SubmitTask(Deadline().get(), request, &response);
  }
};

TEST_F(BadInputTest, InvalidDefinitionNamesTheField) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = LoadExample("hello.json");
  (*request.mutable_definition()->mutable_states())["WORLD"]
      .mutable_yield()
      ->set_next("ENDD");
  grpc::Status status = SubmitRequest(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("states[\"WORLD\"].yield.next"));
  EXPECT_THAT(status.error_message(), HasSubstr("ENDD"));

  request.mutable_definition()->clear_initial();
  status = SubmitRequest(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("initial"));
  ExpectHealthy();
}

TEST_F(BadInputTest, MalformedRequestFieldsAreInvalidArguments) {
  struct Case {
    std::string name;
    v1::SubmitTaskRequest request;
    std::string message;
  };
  std::vector<Case> cases(6);
  cases[0] = {"no definition", {}, "definition, definition_ref"};
  cases[1].name = "bad task id";
  *cases[1].request.mutable_definition() = LoadExample("hello.json");
  cases[1].request.set_task_id("has space");
  cases[1].message = "task_id";
  cases[2].name = "bad label";
  *cases[2].request.mutable_definition() = LoadExample("hello.json");
  (*cases[2].request.mutable_labels())["Team Name"] = "x";
  cases[2].message = "labels[\"Team Name\"]";
  cases[3].name = "both start times";
  *cases[3].request.mutable_definition() = LoadExample("hello.json");
  cases[3].request.mutable_start_at()->set_seconds(1);
  cases[3].request.mutable_start_after()->set_seconds(1);
  cases[3].message = "start_at, start_after";
  cases[4].name = "bad input name";
  *cases[4].request.mutable_definition() = LoadExample("hello.json");
  (*cases[4].request.mutable_inputs())["no spaces allowed"] = Text("x");
  cases[4].message = "inputs";
  cases[5].name = "unknown registered definition";
  cases[5].request.mutable_definition_ref()->set_name("nope");
  cases[5].message = "definition_ref";
  for (const Case& c : cases) {
    grpc::Status status = SubmitRequest(c.request);
    EXPECT_NE(status.error_code(), grpc::StatusCode::OK) << c.name;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.name;
  }
  EXPECT_EQ(SubmitRequest(cases[5].request).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ExpectHealthy();
}

TEST_F(BadInputTest, UnknownTaskIsNotFoundForEveryCall) {
  const std::string id = "never-submitted";
  v1::Task task;
  v1::GetTaskRequest get;
  get.set_task_id(id);
  EXPECT_EQ(stub_->GetTask(Deadline().get(), get, &task).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::WakeTaskRequest wake;
  wake.set_task_id(id);
  wake.set_signal("go");
  v1::WakeTaskResponse receipt;
  EXPECT_EQ(stub_->WakeTask(Deadline().get(), wake, &receipt).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::CancelTaskRequest cancel;
  cancel.set_task_id(id);
  EXPECT_EQ(stub_->CancelTask(Deadline().get(), cancel, &task).error_code(),
            grpc::StatusCode::NOT_FOUND);
  WatchResult watch = Watch(*stub_, id);
  EXPECT_EQ(watch.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(watch.status.error_message(), HasSubstr(id));
  ExpectHealthy();
}

TEST_F(BadInputTest, AnIdNoTaskCanHaveIsInvalidForEveryCall) {
  const std::string id(200, 'x');  // over the 128-byte id limit
  v1::Task task;
  v1::GetTaskRequest get;
  get.set_task_id(id);
  grpc::Status status = stub_->GetTask(Deadline().get(), get, &task);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("is not a valid task id"));
  v1::WakeTaskRequest wake;
  wake.set_task_id("has space");
  wake.set_signal("go");
  v1::WakeTaskResponse receipt;
  EXPECT_EQ(stub_->WakeTask(Deadline().get(), wake, &receipt).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::CancelTaskRequest cancel;
  cancel.set_task_id(id);
  EXPECT_EQ(stub_->CancelTask(Deadline().get(), cancel, &task).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  WatchResult watch = Watch(*stub_, id);
  EXPECT_EQ(watch.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ExpectHealthy();
}

TEST_F(BadInputTest, AnOversizedCancelReasonIsRefusedAndTheTaskRuns) {
  v1::SubmitTaskRequest submit;
  *submit.mutable_definition() = LoadExample("approval.json");
  (*submit.mutable_inputs())["item"].set_string("desk");
  (*submit.mutable_inputs())["manager"].set_string("bo");
  v1::SubmitTaskResponse submitted;
  ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), submit, &submitted).ok());
  v1::CancelTaskRequest cancel;
  cancel.set_task_id(submitted.task().id());
  cancel.set_reason(std::string(4096, 'r'));
  v1::Task task;
  grpc::Status status = stub_->CancelTask(Deadline().get(), cancel, &task);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("reason: 4096 bytes"));
  v1::GetTaskRequest get;
  get.set_task_id(submitted.task().id());
  ASSERT_TRUE(stub_->GetTask(Deadline().get(), get, &task).ok());
  EXPECT_NE(task.status(), v1::TASK_STATUS_CANCELLED);
  ExpectHealthy();
}

TEST_F(BadInputTest, OversizedMessageIsRefusedByTheReceiveLimit) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = LoadExample("hello.json");
  request.mutable_definition()->set_description(std::string(2 << 20, 'x'));
  grpc::Status status = SubmitRequest(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ExpectHealthy();
}

TEST_F(BadInputTest, WakeForAFinishedTaskIsAFailedPrecondition) {
  v1::Task task = Submit(*stub_, LoadExample("hello.json"));
  ASSERT_TRUE(Watch(*stub_, task.id()).status.ok());
  v1::WakeTaskRequest wake;
  wake.set_task_id(task.id());
  wake.set_signal("go");
  v1::WakeTaskResponse receipt;
  grpc::Status status = stub_->WakeTask(Deadline().get(), wake, &receipt);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("has ended (COMPLETED)"));
  ExpectHealthy();
}

TEST_F(BadInputTest, WakeWithASignalNothingAwaitsNamesTheKnownOnes) {
  v1::Task task = Submit(*stub_, AwaitGo());
  v1::WakeTaskRequest wake;
  wake.set_task_id(task.id());
  wake.set_signal("og");
  v1::WakeTaskResponse receipt;
  grpc::Status status = stub_->WakeTask(Deadline().get(), wake, &receipt);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("it awaits go"));
  ExpectHealthy();
}

TEST_F(BadInputTest, DeclaredInputsAreCheckedAtSubmit) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = LoadExample("approval.json");
  grpc::Status status = SubmitRequest(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("inputs: input \"item\" is required by approval@1"));

  (*request.mutable_inputs())["item"].set_number(3);
  status = SubmitRequest(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("input \"item\" is a number, but approval@1 declares "
                        "it a string"));

  (*request.mutable_inputs())["item"] = Text("laptop");
  (*request.mutable_inputs())["manger"] = Text("bo");
  status = SubmitRequest(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("input \"manger\" is not declared by approval@1; it "
                        "takes: item, manager"));

  request.mutable_inputs()->erase("manger");
  v1::SubmitTaskResponse response;
  ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), request, &response).ok());
  EXPECT_EQ(
      GetTask(*stub_, response.task().id()).variables().at("manager").string(),
      "on-call-manager");
  ExpectHealthy();
}

TEST_F(BadInputTest, StructuredValuesTooDeepAreInvalidArguments) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = LoadExample("hello.json");
  google::protobuf::Value* json =
      (*request.mutable_inputs())["deep"].mutable_json();
  for (int i = 0; i < 40; ++i) {
    json = json->mutable_list_value()->add_values();
  }
  json->set_number_value(1);
  grpc::Status status = SubmitRequest(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("input \"deep\": at [0]"));
  EXPECT_THAT(status.error_message(), HasSubstr("nest more than 32 deep"));
  ExpectHealthy();
}

TEST_F(BadInputTest, BadPageTokenAndSizeAreInvalidArguments) {
  v1::ListTasksRequest request;
  request.set_page_token("forged");
  v1::ListTasksResponse response;
  grpc::Status status = stub_->ListTasks(Deadline().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
  request.clear_page_token();
  request.set_page_size(-1);
  status = stub_->ListTasks(Deadline().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_size"));
  ExpectHealthy();
}

class AdmissionTest : public BadInputTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--max-tasks", "10"};
  }
};

TEST_F(AdmissionTest, FloodPastTheBoundIsRefusedAtOnce) {
  std::vector<std::string> admitted;
  admitted.reserve(10);
  for (int i = 0; i < 10; ++i)
    admitted.push_back(Submit(*stub_, AwaitGo()).id());
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = AwaitGo();
  for (int i = 0; i < 20; ++i) {
    const absl::Time begin = absl::Now();
    grpc::Status status = SubmitRequest(request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("--max-tasks"));
    EXPECT_LT(absl::Now() - begin, absl::Seconds(2));  // at once, not queued
  }
  v1::QueueStats stats;
  ASSERT_TRUE(stub_->GetQueueStats(Deadline().get(), {}, &stats).ok());
  EXPECT_EQ(stats.admission_capacity(), 10u);
  EXPECT_EQ(stats.admission_in_use(), 10u);

  // Room again once one finishes.
  v1::CancelTaskRequest cancel;
  cancel.set_task_id(admitted[0]);
  v1::Task cancelled;
  ASSERT_TRUE(stub_->CancelTask(Deadline().get(), cancel, &cancelled).ok());
  EXPECT_TRUE(WaitFor([&] { return SubmitRequest(request).ok(); }));
}

TEST_F(BadInputTest, ClientThatVanishesMidSubmitStreamLeavesDaemonHealthy) {
  for (int round = 0; round < 5; ++round) {
    grpc::ClientContext context;
    auto stream = stub_->SubmitTasks(&context);
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = LoadExample("hello.json");
    for (int i = 0; i < 20; ++i) stream->Write(request);
    v1::SubmitTasksResponse answer;
    ASSERT_TRUE(stream->Read(&answer));  // the daemon is answering
    context.TryCancel();
    while (stream->Read(&answer)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ExpectHealthy();
}

TEST_F(BadInputTest, ClientThatVanishesMidWatchLeavesDaemonHealthy) {
  v1::Task task = Submit(*stub_, AwaitGo());
  for (int round = 0; round < 5; ++round) {
    grpc::ClientContext context;
    v1::WatchTaskRequest request;
    request.set_task_id(task.id());
    auto reader = stub_->WatchTask(&context, request);
    v1::TaskEvent event;
    ASSERT_TRUE(reader->Read(&event));
    context.TryCancel();
    while (reader->Read(&event)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The task itself is unaffected and still finishes when woken.
  v1::WakeTaskRequest wake;
  wake.set_task_id(task.id());
  wake.set_signal("go");
  v1::WakeTaskResponse receipt;
  ASSERT_TRUE(stub_->WakeTask(Deadline().get(), wake, &receipt).ok());
  EXPECT_EQ(Watch(*stub_, task.id()).events.back().finished().result(), "went");
  ExpectHealthy();
}

TEST_F(BadInputTest, ClientDeadlineOnAWatchIsHonoured) {
  v1::Task task = Submit(*stub_, AwaitGo());
  const absl::Time begin = absl::Now();
  WatchResult watch = Watch(*stub_, task.id(), 0, absl::Milliseconds(300));
  EXPECT_EQ(watch.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - begin, absl::Seconds(5));
  EXPECT_EQ(OutputText(watch.events), "waiting\n");
  ExpectHealthy();
}

}  // namespace
}  // namespace corosched::e2e
