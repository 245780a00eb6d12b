// MachineTask's work answers on a real executor with a manual clock.

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/executor.h"
#include "core/machine/machine_task.h"
#include "core/machine/testing/definitions.h"
#include "core/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using ::testing::HasSubstr;

constexpr absl::string_view kJob = R"({"name": "job", "initial": "WORK",
  "timeout": "60s", "states": {
    "WORK": {"work": {"queue": "jobs", "input": {"n": "${n}"},
                      "timeout": "10s", "resultVariable": "r",
                      "next": "END"},
             "retry": [{"errors": ["flaky"], "interval": "0s"}]},
    "END": {"complete": {"result": "r=${r}"}}}})";

google::protobuf::Value Number(double n) {
  google::protobuf::Value value;
  value.set_number_value(n);
  return value;
}

// Runs kJob (or `json`) on a two-worker executor; collects its orders.
class WorkHarness {
 public:
  explicit WorkHarness(absl::string_view json = kJob,
                       bool with_dispatcher = true) {
    executor_ = *Executor::Create({.workers = 2, .clock = &clock_});
    google::protobuf::Map<std::string, v1::Value> inputs;
    inputs["n"].set_number(4);
    WorkCallback on_work;
    if (with_dispatcher) {
      on_work = [this](WorkOrder order) {
        absl::MutexLock lock(&mu_);
        orders_.push_back(std::move(order));
      };
    }
    absl::StatusOr<SpawnedMachine> spawned =
        SpawnMachine(*executor_, *Machine::Start(CompileOrDie(json), inputs),
                     {}, std::move(on_work));
    EXPECT_TRUE(spawned.ok()) << spawned.status();
    task_ = std::move(spawned->task);
    handle_.emplace(std::move(spawned->handle));
  }

  // Waits (bounded) until `count` orders came; returns the last.
  WorkOrder WaitForOrder(size_t count) {
    absl::MutexLock lock(&mu_);
    auto arrived = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return orders_.size() >= count;  // under mu_, in Await
    };
    EXPECT_TRUE(
        mu_.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(30)))
        << "only " << orders_.size() << " orders";
    return orders_.empty() ? WorkOrder() : orders_.back();
  }

  absl::StatusOr<TaskEnd> Join() { return std::move(*handle_).Wait(); }
  MachineTask& task() { return *task_; }
  JoinHandle<TaskEnd>& handle() { return *handle_; }
  ManualClock& clock() { return clock_; }

 private:
  ManualClock clock_;
  absl::Mutex mu_;
  std::vector<WorkOrder> orders_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Executor> executor_;
  std::shared_ptr<MachineTask> task_;
  std::optional<JoinHandle<TaskEnd>> handle_;
};

TEST(MachineTaskWorkTest, AnAnswerCompletesTheTask) {
  WorkHarness harness;
  const WorkOrder order = harness.WaitForOrder(1);
  EXPECT_EQ(order.queue, "jobs");
  EXPECT_EQ(order.attempt, 1u);
  EXPECT_EQ(order.input.struct_value().fields().at("n").number_value(), 4);
  EXPECT_EQ(order.scheduled_at, harness.clock().Now());
  EXPECT_EQ(harness.task().status(), v1::TASK_STATUS_WORKING);
  ASSERT_TRUE(harness.task().CompleteWork(1, Number(9)).ok());
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->status, v1::TASK_STATUS_COMPLETED) << end->error;
  EXPECT_EQ(end->result, "r=9");
}

TEST(MachineTaskWorkTest, RefusesWrongSecondAndInvalidAnswers) {
  WorkHarness harness;
  harness.WaitForOrder(1);
  EXPECT_EQ(harness.task().CompleteWork(2, Number(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(harness.task().CompleteWork(1, Number(std::nan(""))).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(harness.task().FailWork(1, {"flaky", "try again", true}).ok());
  // Either the retry is out already (attempt 2) or attempt 1 is answered.
  EXPECT_EQ(harness.task().CompleteWork(1, Number(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  const WorkOrder second = harness.WaitForOrder(2);
  EXPECT_EQ(second.attempt, 2u);
  ASSERT_TRUE(harness.task().CompleteWork(2, Number(5)).ok());
  EXPECT_EQ(harness.task().CompleteWork(2, Number(6)).code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->result, "r=5");  // the first answer, applied once
}

TEST(MachineTaskWorkTest, AnswersAfterTheEndAreRefused) {
  WorkHarness harness;
  harness.WaitForOrder(1);
  harness.handle().Cancel();
  EXPECT_EQ(harness.Join().status().code(), absl::StatusCode::kCancelled);
  // The future retires (publishing CANCELLED) as the handle is cancelled.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (harness.task().status() != v1::TASK_STATUS_CANCELLED) {
    ASSERT_LT(absl::Now(), give_up);
    std::this_thread::yield();
  }
  EXPECT_EQ(harness.task().CompleteWork(1, Number(1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MachineTaskWorkTest, TheTaskTimeoutEndsAWorkingTask) {
  WorkHarness harness;
  harness.WaitForOrder(1);
  harness.clock().Advance(absl::Seconds(60));
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->status, v1::TASK_STATUS_FAILED);
  EXPECT_THAT(end->error, HasSubstr("timeout: the task's timeout of 1m"));
  EXPECT_EQ(harness.task().CompleteWork(1, Number(1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MachineTaskWorkTest, TheWorkCallbackMayAnswerItself) {
  ManualClock clock;
  std::unique_ptr<Executor> executor =
      *Executor::Create({.workers = 2, .clock = &clock});
  std::shared_ptr<MachineTask> task;
  absl::Mutex mu;
  std::vector<absl::Status> answers;
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"].set_number(1);
  task = MachineTask::Create(
      *Machine::Start(CompileOrDie(kJob), inputs), &executor->timers(), {},
      nullptr, [&](WorkOrder order) {
        absl::MutexLock lock(&mu);
        answers.push_back(
            order.attempt == 1
                ? task->FailWork(1, {"flaky", "", true})
                : task->CompleteWork(order.attempt, Number(order.attempt)));
      });
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor->Spawn(task->MakeFuture());
  ASSERT_TRUE(handle.ok());
  absl::StatusOr<TaskEnd> end = std::move(*handle).Wait();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->result, "r=2");
  absl::MutexLock lock(&mu);
  EXPECT_THAT(answers, ::testing::Each(absl::OkStatus()));
  EXPECT_EQ(answers.size(), 2u);
}

TEST(MachineTaskWorkTest, WithoutADispatcherTheTaskFails) {
  WorkHarness harness(kJob, /*with_dispatcher=*/false);
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->status, v1::TASK_STATUS_FAILED);
  EXPECT_THAT(end->error, HasSubstr("no work dispatcher"));

  ManualClock clock;
  std::unique_ptr<Executor> executor =
      *Executor::Create({.workers = 1, .clock = &clock});
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"].set_number(1);
  absl::StatusOr<JoinHandle<TaskEnd>> detached =
      executor->Spawn(MachineFuture::Detached(
          *Machine::Start(CompileOrDie(kJob), inputs), &executor->timers()));
  ASSERT_TRUE(detached.ok());
  absl::StatusOr<TaskEnd> detached_end = std::move(*detached).Wait();
  ASSERT_TRUE(detached_end.ok());
  EXPECT_THAT(detached_end->error, HasSubstr("no work dispatcher"));
}

}  // namespace
}  // namespace corosched::machine
