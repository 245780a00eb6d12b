#pragma once

// For TaskRunner tests that run real tasks on an executor over the
// in-memory store: a fixture that starts them, programs they run, and a
// bounded wait for what the tasks do on the executor's threads.

#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/executor.h"
#include "core/machine/program.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_runner.h"

namespace corosched::server::runner_test {

// WORK puts one item on queue `jobs` and waits for its answer.
inline std::shared_ptr<const machine::Program> WorkOnce() {
  v1::TaskDefinition definition;
  definition.set_name("work-once");
  definition.set_initial("WORK");
  auto& states = *definition.mutable_states();
  v1::Work& work = *states["WORK"].mutable_work();
  work.set_queue("jobs");
  work.mutable_timeout()->set_seconds(600);
  work.set_next("DONE");
  states["DONE"].mutable_complete();
  return *machine::Program::Compile(definition);
}

// True once `condition` holds; false if it did not within 20 s.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    executor_ = *Executor::Create({.workers = 2});
    runner_ = std::make_unique<TaskRunner>(*executor_, store_, hub_);
  }
  void TearDown() override {
    runner_->BeginShutdown();
    executor_->Shutdown(ShutdownMode::kCancel);
    runner_.reset();
  }

  // Starts task `id` running `program` and waits for its submit's answer.
  void Start(const std::string& id,
             const std::shared_ptr<const machine::Program>& program) {
    TaskRecord record;
    record.id = id;
    record.definition = program->definition();
    record.created_at = absl::Now();
    absl::Notification answered;
    runner_->Start(std::move(record), program, machine::Machine::Start(program),
                   [&](const absl::StatusOr<StartedTask>& started) {
                     EXPECT_TRUE(started.ok()) << started.status();
                     answered.Notify();
                   });
    ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  }

  MemoryStore store_;
  StreamHub hub_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskRunner> runner_;
};

}  // namespace corosched::server::runner_test
