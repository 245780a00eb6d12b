// Namespaces end to end, against a real daemon: what one namespace submits,
// registers and queues is invisible to another (NOT_FOUND, as if absent, or
// an empty list), the same task id in two namespaces is two tasks, work
// items reach only their namespace's workers, and a restart keeps each task
// in its namespace. Calls name their namespace with the
// `corosched-namespace` header.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server/data_dir_fixture.h"
#include "tests/server/e2e_support.h"
#include "tests/server/namespace_support.h"
#include "tests/server/work_support.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class NamespaceTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (server_ == nullptr) return;
    a_ = NamespaceStub(server_->address(), "a");
    b_ = NamespaceStub(server_->address(), "b");
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    DaemonTest::TearDown();
  }

  std::unique_ptr<v1::Scheduler::Stub> a_;
  std::unique_ptr<v1::Scheduler::Stub> b_;
};

v1::Task SubmitWithId(v1::Scheduler::Stub& stub,
                      const v1::TaskDefinition& definition,
                      const std::string& id) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = definition;
  request.set_task_id(id);
  v1::SubmitTaskResponse response;
  grpc::Status status = stub.SubmitTask(Deadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.created());
  return response.task();
}

grpc::Status GetTaskStatus(v1::Scheduler::Stub& stub, const std::string& id) {
  v1::GetTaskRequest request;
  request.set_task_id(id);
  v1::Task task;
  return stub.GetTask(Deadline().get(), request, &task);
}

grpc::Status WakeGo(v1::Scheduler::Stub& stub, const std::string& id) {
  v1::WakeTaskRequest request;
  request.set_task_id(id);
  request.set_signal("go");
  v1::WakeTaskResponse response;
  return stub.WakeTask(Deadline().get(), request, &response);
}

std::vector<std::string> ListedIds(v1::Scheduler::Stub& stub) {
  v1::ListTasksRequest request;
  v1::ListTasksResponse response;
  grpc::Status status = stub.ListTasks(Deadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> ids;
  for (const v1::Task& task : response.tasks()) ids.push_back(task.id());
  return ids;
}

grpc::Status Register(v1::Scheduler::Stub& stub,
                      const v1::TaskDefinition& definition) {
  v1::RegisterDefinitionRequest request;
  *request.mutable_definition() = definition;
  v1::RegisterDefinitionResponse response;
  return stub.RegisterDefinition(Deadline().get(), request, &response);
}

grpc::Status SubmitByName(v1::Scheduler::Stub& stub, const std::string& name,
                          v1::Task* task) {
  v1::SubmitTaskRequest request;
  request.mutable_definition_ref()->set_name(name);
  v1::SubmitTaskResponse response;
  grpc::Status status = stub.SubmitTask(Deadline().get(), request, &response);
  *task = response.task();
  return status;
}

// A definition `name` version `version` that completes with `result`.
v1::TaskDefinition Completes(const std::string& name,
                             const std::string& version,
                             const std::string& result) {
  v1::TaskDefinition definition;
  definition.set_name(name);
  definition.set_version(version);
  definition.set_initial("DONE");
  (*definition.mutable_states())["DONE"].mutable_complete()->set_result(result);
  return definition;
}

TEST_F(NamespaceTest, AnotherNamespacesTaskIsNotFound) {
  const v1::Task task = SubmitWithId(*b_, AwaitGo(), "t1");
  EXPECT_EQ(task.id(), "t1");
  EXPECT_EQ(task.namespace_(), "b");

  EXPECT_EQ(GetTaskStatus(*a_, "t1").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetTaskStatus(*stub_, "t1").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Watch(*a_, "t1").status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(WakeGo(*a_, "t1").error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status cancel = CancelTask(*a_, "t1");
  EXPECT_EQ(cancel.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(cancel.error_message(), HasSubstr("\"t1\""));
  EXPECT_THAT(cancel.error_message(), ::testing::Not(HasSubstr("b/")));
  EXPECT_THAT(ListedIds(*a_), IsEmpty());
  EXPECT_THAT(ListedIds(*stub_), IsEmpty());
  EXPECT_THAT(ListedIds(*b_), ::testing::ElementsAre("t1"));

  // Still there, untouched, in its own namespace.
  v1::Task seen = GetTask(*b_, "t1");
  EXPECT_EQ(seen.status(), v1::TASK_STATUS_AWAITING);
  EXPECT_EQ(seen.namespace_(), "b");
  ASSERT_TRUE(WakeGo(*b_, "t1").ok());
  EXPECT_EQ(AwaitFinished(*b_, "t1").result(), "went");
}

TEST_F(NamespaceTest, TheSameIdInTwoNamespacesIsTwoTasks) {
  SubmitWithId(*a_, AwaitGo(), "t1");
  SubmitWithId(*b_, AwaitGo(), "t1");
  SubmitWithId(*stub_, AwaitGo(), "t1");
  ASSERT_TRUE(WakeGo(*a_, "t1").ok());
  EXPECT_EQ(AwaitFinished(*a_, "t1").status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_TRUE(WaitFor(
      [&] { return GetTask(*b_, "t1").status() == v1::TASK_STATUS_AWAITING; }));
  EXPECT_TRUE(WaitFor([&] {
    return GetTask(*stub_, "t1").status() == v1::TASK_STATUS_AWAITING;
  }));
  EXPECT_EQ(GetTask(*stub_, "t1").namespace_(), "default");
  WatchResult watched = Watch(*a_, "t1");
  ASSERT_TRUE(watched.status.ok()) << watched.status.error_message();
  EXPECT_EQ(OutputText(watched.events), "waiting\n");
}

TEST_F(NamespaceTest, DefinitionsAreRegisteredPerNamespace) {
  ASSERT_TRUE(Register(*b_, Completes("greet", "1", "from b")).ok());
  v1::Task task;
  grpc::Status by_name = SubmitByName(*a_, "greet", &task);
  EXPECT_EQ(by_name.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(by_name.error_message(), ::testing::Not(HasSubstr("b/")));
  v1::GetDefinitionRequest get;
  get.set_name("greet");
  v1::GetDefinitionResponse got;
  EXPECT_EQ(a_->GetDefinition(Deadline().get(), get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // The same name and version, other content: a's own.
  ASSERT_TRUE(Register(*a_, Completes("greet", "1", "from a")).ok());
  ASSERT_TRUE(Register(*b_, Completes("greet", "2", "from b, v2")).ok());
  ASSERT_TRUE(SubmitByName(*a_, "greet", &task).ok());
  EXPECT_EQ(task.definition_name(), "greet");
  EXPECT_EQ(task.definition_version(), "1");  // the latest in a
  EXPECT_EQ(AwaitFinished(*a_, task.id()).result(), "from a");
  ASSERT_TRUE(SubmitByName(*b_, "greet", &task).ok());
  EXPECT_EQ(AwaitFinished(*b_, task.id()).result(), "from b, v2");

  ASSERT_TRUE(b_->GetDefinition(Deadline().get(), get, &got).ok());
  EXPECT_EQ(got.definition().name(), "greet");
  EXPECT_EQ(got.definition().version(), "2");
  v1::ListDefinitionsRequest list;
  v1::ListDefinitionsResponse listed;
  ASSERT_TRUE(a_->ListDefinitions(Deadline().get(), list, &listed).ok());
  ASSERT_EQ(listed.definitions_size(), 1);
  EXPECT_EQ(listed.definitions(0).name(), "greet");
  ASSERT_TRUE(stub_->ListDefinitions(Deadline().get(), list, &listed).ok());
  EXPECT_EQ(listed.definitions_size(), 0);
}

TEST_F(NamespaceTest, WorkItemsReachOnlyTheirNamespacesWorkers) {
  const v1::Task task =
      SubmitJob(*b_, WorkJob("emails", R"("timeout": "60s")"), "send", "job-1");
  std::vector<v1::WorkItem> items;
  ASSERT_TRUE(PollWork(*a_, "emails", absl::Seconds(1), 10, &items).ok());
  EXPECT_THAT(items, IsEmpty());
  ASSERT_TRUE(
      PollWork(*stub_, "emails", absl::Milliseconds(200), 10, &items).ok());
  EXPECT_THAT(items, IsEmpty());
  EXPECT_EQ(WorkQueueStatsOf(*a_, "emails").depth(), 0u);
  EXPECT_EQ(WorkQueueStatsOf(*b_, "emails").depth(), 1u);

  std::optional<v1::WorkItem> item = TakeItem(*b_, "emails");
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->task_id(), "job-1");
  EXPECT_EQ(item->queue(), "emails");
  // b's token presented in a: as if there were no such lease.
  EXPECT_EQ(HeartbeatWork(*a_, item->token()).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CompleteWork(*a_, item->token(), JsonText("stolen")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FailWork(*a_, item->token(), "x", "y", false).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(CompleteWork(*b_, item->token(), JsonText("sent")).ok());
  EXPECT_EQ(AwaitFinished(*b_, task.id()).result(), "sent");
}

TEST_F(NamespaceTest, SubmitTasksStreamSubmitsInItsNamespace) {
  grpc::ClientContext context;
  context.AddMetadata("corosched-namespace", "b");
  auto stream = stub_->SubmitTasks(&context);
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = AwaitGo();
  request.set_task_id("s1");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  v1::SubmitTasksResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.code(), 0) << answer.message();
  EXPECT_EQ(answer.response().task().namespace_(), "b");
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(GetTask(*b_, "s1").id(), "s1");
  EXPECT_EQ(GetTaskStatus(*stub_, "s1").error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(NamespaceTest, AMalformedNamespaceHeaderIsInvalidArgument) {
  for (const char* name : {"a/b", "", "with space"}) {
    auto bad = NamespaceStub(server_->address(), name);
    grpc::Status get = GetTaskStatus(*bad, "t1");
    EXPECT_EQ(get.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_THAT(get.error_message(), HasSubstr("corosched-namespace"));
    EXPECT_EQ(Watch(*bad, "t1").status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    std::vector<v1::WorkItem> items;
    EXPECT_EQ(PollWork(*bad, "q", absl::Seconds(1), 1, &items).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  std::string too_long(65, 'n');
  auto bad = NamespaceStub(server_->address(), too_long);
  EXPECT_EQ(GetTaskStatus(*bad, "t1").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

using NamespaceRestartTest = DataDirDaemonTest;

TEST_F(NamespaceRestartTest, ARestartKeepsEachTaskInItsNamespace) {
  Open();
  {
    auto a = NamespaceStub(server_->address(), "a");
    auto b = NamespaceStub(server_->address(), "b");
    SubmitWithId(*a, AwaitGo(), "t1");
    SubmitWithId(*b, SleepThenAwaitGo(absl::Milliseconds(100)), "t1");
    SubmitWithId(*stub_, AwaitGo(), "t1");
  }
  Close();
  Open();
  auto a = NamespaceStub(server_->address(), "a");
  auto b = NamespaceStub(server_->address(), "b");
  EXPECT_EQ(GetTask(*a, "t1").definition_name(), "await-go");
  EXPECT_EQ(GetTask(*a, "t1").namespace_(), "a");
  EXPECT_EQ(GetTask(*b, "t1").definition_name(), "sleep-then-await-go");
  EXPECT_EQ(GetTask(*stub_, "t1").namespace_(), "default");
  EXPECT_THAT(ListedIds(*a), ::testing::ElementsAre("t1"));
  ASSERT_TRUE(WakeGo(*a, "t1").ok());
  EXPECT_EQ(AwaitFinished(*a, "t1").result(), "went");
  EXPECT_EQ(GetTask(*stub_, "t1").status(), v1::TASK_STATUS_AWAITING);
  EXPECT_TRUE(WaitFor(
      [&] { return GetTask(*b, "t1").status() == v1::TASK_STATUS_AWAITING; }));
}

}  // namespace
}  // namespace corosched::e2e
