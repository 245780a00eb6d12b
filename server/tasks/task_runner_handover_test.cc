// TaskRunner::HandOver, as the WorkRouter uses it: a task whose work item
// still waits is dropped here, its record left as it stands for the daemon
// it goes to; one whose item a worker leased stays. On the in-memory store.

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/tasks/runner_test_fixture.h"
#include "server/tasks/task_runner.h"

namespace corosched::server {
namespace {

using runner_test::Eventually;
using runner_test::WorkOnce;

class TaskRunnerHandOverTest : public runner_test::RunnerTest {
 protected:
  // Starts a WorkOnce task and waits until its item is queued and its
  // record shows the work state.
  void StartWorking(const std::string& id) {
    Start(id, WorkOnce());
    ASSERT_TRUE(Eventually([&] {
      return store_.GetTask(id)->snapshot.status() == v1::TASK_STATUS_WORKING &&
             !runner_->work_queues().QueuedTasks("jobs", 10).empty();
    }));
  }
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
