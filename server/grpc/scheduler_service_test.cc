// SchedulerService asks its Authorizer before anything else: every method
// with the role RoleFor names and the right CallKind, and a refusal is the
// call's answer (streams included), whatever the request.

#include "server/grpc/scheduler_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/executor.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/auth/authorizer.h"
#include "server/store/memory_store.h"
#include "server/tasks/namespace_admission.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_runner.h"
#include "server/tasks/task_service.h"

namespace corosched::server {
namespace {

// Refuses every call, remembering what was asked.
class RefusingAuthorizer final : public Authorizer {
 public:
  struct Asked {
    Role role;
    CallKind kind;
  };

  absl::StatusOr<CallScope> Authorize(
      const grpc::ServerContextBase& /*context*/, Role role,
      CallKind kind) override {
    absl::MutexLock lock(&mu_);
    asked_.push_back({role, kind});
    return absl::PermissionDeniedError("refused by the test");
  }

  std::vector<Asked> TakeAsked() {
    absl::MutexLock lock(&mu_);
    return std::exchange(asked_, {});
  }

 private:
  absl::Mutex mu_;
  std::vector<Asked> asked_ ABSL_GUARDED_BY(mu_);
};

class SchedulerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    executor_ = *Executor::Create({.workers = 1});
    runner_ = std::make_unique<TaskRunner>(*executor_, store_, hub_);
    admission_ = std::make_unique<NamespaceAdmission>(*executor_->clock(),
                                                      NamespaceLimits{});
    tasks_ = std::make_unique<TaskService>(
        *executor_, store_, *runner_,
        TaskServiceOptions{.admission = admission_.get()});
    service_ =
        std::make_unique<SchedulerService>(*tasks_, store_, hub_, authorizer_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Scheduler::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    runner_->BeginShutdown();
    executor_->Shutdown(ShutdownMode::kCancel);
  }

  // The one question the last call asked.
  void ExpectAsked(Role role, CallKind kind, const std::string& method) {
    std::vector<RefusingAuthorizer::Asked> asked = authorizer_.TakeAsked();
    ASSERT_EQ(asked.size(), 1u) << method;
    EXPECT_EQ(asked[0].role, role) << method;
    EXPECT_EQ(asked[0].kind, kind) << method;
    EXPECT_EQ(asked[0].role, RoleFor(method)) << method;
  }

  RefusingAuthorizer authorizer_;
  MemoryStore store_;
  StreamHub hub_;
  // Before the executor, as in the daemon: task futures hold its slots.
  std::unique_ptr<NamespaceAdmission> admission_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskRunner> runner_;
  std::unique_ptr<TaskService> tasks_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

template <typename Call>
grpc::StatusCode Unary(Call call) {
  grpc::ClientContext context;
  return call(&context).error_code();
}

TEST_F(SchedulerServiceTest, EveryUnaryMethodAsksForItsRoleFirst) {
  constexpr auto kDenied = grpc::StatusCode::PERMISSION_DENIED;
  v1::SubmitTaskRequest submit;  // not even valid: refused before checks
  v1::SubmitTaskResponse submitted;
  EXPECT_EQ(
      Unary([&](auto* c) { return stub_->SubmitTask(c, submit, &submitted); }),
      kDenied);
  ExpectAsked(Role::kSubmit, CallKind::kUnary, "SubmitTask");
  v1::RegisterDefinitionRequest reg;
  v1::RegisterDefinitionResponse registered;
  EXPECT_EQ(Unary([&](auto* c) {
              return stub_->RegisterDefinition(c, reg, &registered);
            }),
            kDenied);
  ExpectAsked(Role::kAdmin, CallKind::kUnary, "RegisterDefinition");
  v1::GetTaskRequest get;
  v1::Task task;
  EXPECT_EQ(Unary([&](auto* c) { return stub_->GetTask(c, get, &task); }),
            kDenied);
  ExpectAsked(Role::kRead, CallKind::kUnary, "GetTask");
  v1::WakeTaskRequest wake;
  v1::WakeTaskResponse woken;
  EXPECT_EQ(Unary([&](auto* c) { return stub_->WakeTask(c, wake, &woken); }),
            kDenied);
  ExpectAsked(Role::kWake, CallKind::kUnary, "WakeTask");
  v1::CancelTaskRequest cancel;
  EXPECT_EQ(Unary([&](auto* c) { return stub_->CancelTask(c, cancel, &task); }),
            kDenied);
  ExpectAsked(Role::kSubmit, CallKind::kUnary, "CancelTask");
  v1::GetQueueStatsRequest stats_request;
  v1::QueueStats stats;
  EXPECT_EQ(Unary([&](auto* c) {
              return stub_->GetQueueStats(c, stats_request, &stats);
            }),
            kDenied);
  ExpectAsked(Role::kRead, CallKind::kUnary, "GetQueueStats");
  v1::CompleteWorkRequest complete;
  v1::CompleteWorkResponse completed;
  EXPECT_EQ(Unary([&](auto* c) {
              return stub_->CompleteWork(c, complete, &completed);
            }),
            kDenied);
  ExpectAsked(Role::kWork, CallKind::kUnary, "CompleteWork");
  // A long poll is held like a stream.
  v1::PollWorkRequest poll;
  v1::PollWorkResponse polled;
  EXPECT_EQ(Unary([&](auto* c) { return stub_->PollWork(c, poll, &polled); }),
            kDenied);
  ExpectAsked(Role::kWork, CallKind::kStream, "PollWork");
}

TEST_F(SchedulerServiceTest, StreamsAreRefusedAtOnce) {
  {
    grpc::ClientContext context;
    auto watch = stub_->WatchTask(&context, v1::WatchTaskRequest());
    v1::TaskEvent event;
    EXPECT_FALSE(watch->Read(&event));
    EXPECT_EQ(watch->Finish().error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    ExpectAsked(Role::kRead, CallKind::kStream, "WatchTask");
  }
  {
    grpc::ClientContext context;
    auto submits = stub_->SubmitTasks(&context);
    v1::SubmitTasksResponse answer;
    EXPECT_FALSE(submits->Read(&answer));
    EXPECT_EQ(submits->Finish().error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    ExpectAsked(Role::kSubmit, CallKind::kStream, "SubmitTasks");
  }
  {
    grpc::ClientContext context;
    auto work = stub_->WorkStream(&context);
    v1::WorkStreamResponse item;
    EXPECT_FALSE(work->Read(&item));
    EXPECT_EQ(work->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
    ExpectAsked(Role::kWork, CallKind::kStream, "WorkStream");
  }
}

}  // namespace
}  // namespace corosched::server
