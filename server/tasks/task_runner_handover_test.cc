// TaskRunner::HandOver, as the WorkRouter uses it: a task whose work item
// still waits is dropped here, its record left as it stands for the daemon
// it goes to; one whose item a worker leased stays. On the in-memory store.

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/tasks/task_runner.h"

namespace corosched::server {
namespace {

// WORK puts one item on queue `jobs` and waits for its answer.
std::shared_ptr<const machine::Program> WorkOnce() {
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

template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class TaskRunnerHandOverTest : public ::testing::Test {
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

  // Starts a WorkOnce task and waits until its item is queued and its
  // record shows the work state.
  void StartWorking(const std::string& id) {
    TaskRecord record;
    record.id = id;
    record.definition = WorkOnce()->definition();
    record.created_at = absl::Now();
    absl::Notification answered;
    runner_->Start(std::move(record), WorkOnce(),
                   machine::Machine::Start(WorkOnce()),
                   [&](const absl::StatusOr<StartedTask>& started) {
                     EXPECT_TRUE(started.ok()) << started.status();
                     answered.Notify();
                   });
    ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    ASSERT_TRUE(Eventually([&] {
      return store_.GetTask(id)->snapshot.status() == v1::TASK_STATUS_WORKING &&
             !runner_->work_queues().QueuedTasks("jobs", 10).empty();
    }));
  }

  MemoryStore store_;
  StreamHub hub_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskRunner> runner_;
};

TEST_F(TaskRunnerHandOverTest, ATaskWhoseItemWaitsIsDroppedAndHandedOver) {
  StartWorking("t");
  const uint64_t last = store_.GetTask("t")->last_event_sequence;
  int handed = 0;
  EXPECT_TRUE(runner_->HandOver("t", [&] { ++handed; }));
  EXPECT_EQ(handed, 1);
  EXPECT_FALSE(runner_->IsLive("t"));
  EXPECT_TRUE(runner_->work_queues().QueuedTasks("jobs", 10).empty());
  EXPECT_TRUE(Eventually([&] { return executor_->Stats().live_tasks == 0; }));
  // Left as recorded, in its work state, for the daemon it goes to.
  absl::StatusOr<TaskRecord> stored = store_.GetTask("t");
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->finished_at.has_value());
  EXPECT_EQ(stored->snapshot.status(), v1::TASK_STATUS_WORKING);
  EXPECT_EQ(stored->last_event_sequence, last);
}

TEST_F(TaskRunnerHandOverTest, ATaskWhoseItemAWorkerLeasedStays) {
  StartWorking("t");
  std::vector<WorkLease> leased;
  ASSERT_TRUE(runner_->work_queues()
                  .Poll({"jobs", "worker", 1, absl::ZeroDuration()},
                        [&](std::vector<WorkLease> leases) {
                          leased = std::move(leases);
                        })
                  .ok());
  ASSERT_EQ(leased.size(), 1u);
  int handed = 0;
  EXPECT_FALSE(runner_->HandOver("t", [&] { ++handed; }));
  EXPECT_EQ(handed, 0);
  EXPECT_TRUE(runner_->IsLive("t"));
  // The worker's answer still reaches the task, which finishes here.
  google::protobuf::Value result;
  result.set_string_value("done");
  ASSERT_TRUE(runner_->work_queues().Complete(leased[0].token, result).ok());
  EXPECT_TRUE(
      Eventually([&] { return store_.GetTask("t")->finished_at.has_value(); }));
  EXPECT_EQ(store_.GetTask("t")->snapshot.status(), v1::TASK_STATUS_COMPLETED);
}

TEST_F(TaskRunnerHandOverTest, ATaskNotLiveHereIsNotHandedOver) {
  int handed = 0;
  EXPECT_FALSE(runner_->HandOver("unknown", [&] { ++handed; }));
  EXPECT_EQ(handed, 0);
}

}  // namespace
}  // namespace corosched::server
