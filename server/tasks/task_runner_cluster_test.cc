// TaskRunner::Abandon, as a lost lease uses it: on the in-memory store, so
// the store is not what stops the task's writes.

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/tasks/runner_test_fixture.h"
#include "server/tasks/task_runner.h"

namespace corosched::server {
namespace {

// LOOP emits "x" and yields to CHECK, which goes back to LOOP until a
// variable `stop` is set (never, here): it runs until stopped.
std::shared_ptr<const machine::Program> YieldLoop() {
  v1::TaskDefinition definition;
  definition.set_name("yield-loop");
  definition.set_initial("LOOP");
  auto& states = *definition.mutable_states();
  states["LOOP"].set_emit("x");
  states["LOOP"].mutable_yield()->set_next("CHECK");
  v1::Branch* stop = states["CHECK"].mutable_choice()->add_when();
  stop->set_variable("stop");
  stop->set_is_set(true);
  stop->set_next("END");
  states["CHECK"].mutable_choice()->set_otherwise("LOOP");
  states["END"].mutable_complete();
  return *machine::Program::Compile(definition);
}

// WAIT awaits `go` (no timeout), then completes.
std::shared_ptr<const machine::Program> AwaitGo() {
  v1::TaskDefinition definition;
  definition.set_name("await-go");
  definition.set_initial("WAIT");
  auto& states = *definition.mutable_states();
  (*states["WAIT"].mutable_await()->mutable_signals())["go"] = "DONE";
  states["DONE"].mutable_complete();
  return *machine::Program::Compile(definition);
}

using runner_test::Eventually;
using runner_test::WorkOnce;

class TaskRunnerAbandonTest : public runner_test::RunnerTest {
 protected:
  uint64_t LastSequence(const std::string& id) {
    return store_.GetTask(id)->last_event_sequence;
  }
};

TEST_F(TaskRunnerAbandonTest, ABusyTaskStopsWithoutRecordingItsEnd) {
  Start("busy", YieldLoop());
  ASSERT_TRUE(Eventually([&] { return LastSequence("busy") > 10; }));
  runner_->Abandon("busy");
  EXPECT_FALSE(runner_->IsLive("busy"));
  ASSERT_TRUE(Eventually([&] { return executor_->Stats().live_tasks == 0; }));
  // Its future is gone: nothing can write for it any more, and nothing did
  // at the abandon (no cancel, no `finished` event).
  const uint64_t last = LastSequence("busy");
  absl::StatusOr<EventBatch> events = store_.ReadEvents("busy", 0, 100000);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->last_sequence, last);
  EXPECT_FALSE(events->task_ended);
  EXPECT_FALSE(store_.GetTask("busy")->finished_at.has_value());
  EXPECT_EQ(runner_->live_count(), 0u);
}

TEST_F(TaskRunnerAbandonTest, AnAbandonedTaskIsNoLongerWokenOrCancelledHere) {
  Start("waiting", AwaitGo());
  ASSERT_TRUE(Eventually([&] {
    return store_.GetTask("waiting")->snapshot.status() ==
           v1::TASK_STATUS_AWAITING;
  }));
  runner_->Abandon("waiting");
  v1::Signal go;
  go.set_name("go");
  absl::Notification woken;
  runner_->Wake(
      "waiting", go, "r1", [&](absl::StatusOr<v1::WakeTaskResponse> answer) {
        // Unfinished and not running here.
        EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
        woken.Notify();
      });
  ASSERT_TRUE(woken.WaitForNotificationWithTimeout(absl::Seconds(20)));
  absl::Notification cancelled;
  runner_->Cancel("waiting", "stop", [&](absl::StatusOr<TaskRecord> answer) {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
    cancelled.Notify();
  });
  ASSERT_TRUE(cancelled.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(store_.GetTask("waiting")->snapshot.status(),
            v1::TASK_STATUS_AWAITING);
  EXPECT_EQ(store_.GetTask("waiting")->snapshot.mailbox_size(), 0);
}

TEST_F(TaskRunnerAbandonTest, AnAbandonedTasksWorkItemLeavesItsQueue) {
  auto depth = [&] {
    uint64_t items = 0;
    for (const WorkQueueStats& queue : runner_->work_queues().Stats()) {
      items += queue.depth;
    }
    return items;
  };
  Start("worker", WorkOnce());
  ASSERT_TRUE(Eventually([&] { return depth() == 1; }));
  runner_->Abandon("worker");
  EXPECT_TRUE(Eventually([&] { return depth() == 0; }));
  EXPECT_FALSE(store_.GetTask("worker")->finished_at.has_value());
}

TEST_F(TaskRunnerAbandonTest, AbandonAllDropsEveryLiveTask) {
  for (const char* id : {"a", "b", "c"}) Start(id, AwaitGo());
  EXPECT_EQ(runner_->AbandonAll(), 3u);
  EXPECT_EQ(runner_->live_count(), 0u);
  EXPECT_TRUE(Eventually([&] { return executor_->Stats().live_tasks == 0; }));
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_FALSE(store_.GetTask(id)->finished_at.has_value()) << id;
  }
  EXPECT_EQ(runner_->AbandonAll(), 0u);
}

}  // namespace
}  // namespace corosched::server
