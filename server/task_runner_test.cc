#include "server/task_runner.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"

namespace corosched::server {
namespace {

using ::testing::AnyOf;

// WAIT awaits `go` (no timeout), then completes.
std::shared_ptr<const machine::Program> AwaitGoProgram() {
  v1::TaskDefinition definition;
  definition.set_name("await-go");
  definition.set_initial("WAIT");
  auto& states = *definition.mutable_states();
  (*states["WAIT"].mutable_await()->mutable_signals())["go"] = "DONE";
  states["DONE"].mutable_complete()->set_result("went");
  return *machine::Program::Compile(definition);
}

class TaskRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    executor_ = *Executor::Create({.workers = 2});
    runner_ = std::make_unique<TaskRunner>(*executor_, store_, hub_);
  }
  void TearDown() override {
    runner_->BeginShutdown();
    executor_->Shutdown(ShutdownMode::kCancel);
  }

  absl::StatusOr<StartedTask> Start(const std::string& id,
                                    const std::string& fingerprint = "") {
    TaskRecord record;
    record.id = id;
    record.request_fingerprint = fingerprint;
    record.definition = program_->definition();
    record.created_at = absl::Now();
    return runner_->Start(std::move(record), program_,
                          machine::Machine::Start(program_));
  }

  v1::TaskStatus Status(const std::string& id) {
    absl::StatusOr<TaskRecord> record = store_.GetTask(id);
    return record.ok() ? record->snapshot.status()
                       : v1::TASK_STATUS_UNSPECIFIED;
  }

  bool AwaitStatus(const std::string& id, v1::TaskStatus status) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (Status(id) != status) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  int FinishedEvents(const std::string& id) {
    int finished = 0;
    absl::StatusOr<EventBatch> batch = store_.ReadEvents(id, 0, 1000);
    if (!batch.ok()) return -1;
    for (const v1::TaskEvent& event : batch->events) {
      finished += event.has_finished() ? 1 : 0;
    }
    return finished;
  }

  std::shared_ptr<const machine::Program> program_ = AwaitGoProgram();
  MemoryStore store_;
  StreamHub hub_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskRunner> runner_;
};

TEST_F(TaskRunnerTest, CancelRacingAWakeEndsTheTaskOnceAndAnswers) {
  constexpr int kTasks = 200;
  std::atomic<int> answered{0};
  for (int i = 0; i < kTasks; ++i) {
    const std::string id = absl::StrCat("t", i);
    ASSERT_TRUE(Start(id).ok());
    ASSERT_TRUE(AwaitStatus(id, v1::TASK_STATUS_AWAITING));
    std::thread waker([&] {
      v1::Signal go;
      go.set_name("go");
      (void)runner_->Wake(id, go, "");
    });
    absl::Notification done;
    runner_->Cancel(id, "stop", [&](absl::StatusOr<TaskRecord> record) {
      EXPECT_TRUE(record.ok());
      EXPECT_THAT(record->snapshot.status(),
                  AnyOf(v1::TASK_STATUS_CANCELLED, v1::TASK_STATUS_COMPLETED));
      answered.fetch_add(1);
      done.Notify();
    });
    waker.join();
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    EXPECT_EQ(FinishedEvents(id), 1) << id;
  }
  EXPECT_EQ(answered.load(), kTasks);
  EXPECT_EQ(runner_->live_count(), 0u);
}

TEST_F(TaskRunnerTest, ConcurrentSubmitsOfOneIdCreateOneTask) {
  constexpr int kThreads = 8;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<StartedTask> started = Start("same", "fingerprint");
      if (started.ok()) {
        if (started->created) created.fetch_add(1);
      } else {
        EXPECT_EQ(started.status().code(), absl::StatusCode::kAborted)
            << started.status();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 1);
  ASSERT_TRUE(AwaitStatus("same", v1::TASK_STATUS_AWAITING));
  // Losers were discarded: only the winner holds an admission slot.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (executor_->Stats().live_tasks != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(executor_->Stats().live_tasks, 1u);
  EXPECT_EQ(runner_->live_count(), 1u);
}

TEST_F(TaskRunnerTest, ShutdownLeavesUnfinishedTasksAsRecorded) {
  ASSERT_TRUE(Start("waiting").ok());
  ASSERT_TRUE(AwaitStatus("waiting", v1::TASK_STATUS_AWAITING));
  runner_->BeginShutdown();
  executor_->Shutdown(ShutdownMode::kCancel);
  EXPECT_EQ(Status("waiting"), v1::TASK_STATUS_AWAITING);
  EXPECT_EQ(FinishedEvents("waiting"), 0);
  EXPECT_FALSE(store_.GetTask("waiting")->finished_at.has_value());
  EXPECT_EQ(runner_->live_count(), 0u);
}

TEST_F(TaskRunnerTest, WaitUntilIdleReturnsOnceTasksEnd) {
  ASSERT_TRUE(Start("a").ok());
  ASSERT_TRUE(AwaitStatus("a", v1::TASK_STATUS_AWAITING));
  EXPECT_FALSE(runner_->WaitUntilIdle(absl::Now() + absl::Milliseconds(20)));
  std::thread waker([&] {
    v1::Signal go;
    go.set_name("go");
    EXPECT_TRUE(runner_->Wake("a", go, "").ok());
  });
  EXPECT_TRUE(runner_->WaitUntilIdle(absl::Now() + absl::Seconds(20)));
  waker.join();
  EXPECT_EQ(Status("a"), v1::TASK_STATUS_COMPLETED);
}

}  // namespace
}  // namespace corosched::server
