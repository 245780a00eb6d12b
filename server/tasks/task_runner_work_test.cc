// TaskRunner's work dispatch with a manual clock: attempts queued, leases
// recorded before the worker hears of them, answers acknowledged once
// recorded, back-off as the retry rule declares it, catch, timeouts by the
// clock, cancellation, and leases kept across a restart.

#include <unistd.h>

#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/machine/proto_time.h"
#include "core/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/group_commit_test_observer.h"
#include "server/tasks/task_runner.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

google::protobuf::Duration Seconds(int64_t seconds) {
  google::protobuf::Duration duration;
  duration.set_seconds(seconds);
  return duration;
}

// WORK puts {"n": 7} on queue `jobs` (heartbeat 10s, timeout 60s); `boom`
// and heartbeat timeouts are retried up to 3 attempts, 2s then 4s apart;
// anything else, or the last, goes to CAUGHT.
std::shared_ptr<const machine::Program> WorkProgram() {
  v1::TaskDefinition definition;
  definition.set_name("work");
  definition.set_initial("WORK");
  auto& states = *definition.mutable_states();
  v1::State& work_state = states["WORK"];
  v1::Work& work = *work_state.mutable_work();
  work.set_queue("jobs");
  (*work.mutable_input()->mutable_struct_value()->mutable_fields())["n"]
      .set_number_value(7);
  *work.mutable_timeout() = Seconds(60);
  *work.mutable_heartbeat() = Seconds(10);
  work.set_result_variable("r");
  work.set_next("DONE");
  v1::RetryRule& retry = *work_state.add_retry();
  retry.add_errors("boom");
  retry.add_errors("heartbeat_timeout");
  retry.set_max_attempts(3);
  *retry.mutable_interval() = Seconds(2);
  retry.set_backoff_rate(2);
  v1::Catcher& catcher = *work_state.add_catch_();
  catcher.add_errors("*");
  catcher.set_next("CAUGHT");
  catcher.set_error_variable("err");
  states["DONE"].mutable_complete()->set_result("${r.v}");
  states["CAUGHT"].mutable_complete()->set_result("caught ${err.error}");
  absl::StatusOr<std::shared_ptr<const machine::Program>> program =
      machine::Program::Compile(definition);
  EXPECT_TRUE(program.ok()) << program.status();
  return *program;
}

// FIRST and SECOND, two work states on `jobs` in a row (attempts of each
// count from 1), then DONE with both results.
std::shared_ptr<const machine::Program> TwoWorkProgram() {
  v1::TaskDefinition definition;
  definition.set_name("two-works");
  definition.set_initial("FIRST");
  auto& states = *definition.mutable_states();
  for (const char* name : {"FIRST", "SECOND"}) {
    v1::Work& work = *states[name].mutable_work();
    work.set_queue("jobs");
    work.mutable_input()->set_string_value(name);
    *work.mutable_heartbeat() = Seconds(10);
    work.set_result_variable(absl::StrCat("r_", name));
    work.set_next(std::string(name) == "FIRST" ? "SECOND" : "DONE");
  }
  states["DONE"].mutable_complete()->set_result("${r_FIRST.v}+${r_SECOND.v}");
  absl::StatusOr<std::shared_ptr<const machine::Program>> program =
      machine::Program::Compile(definition);
  EXPECT_TRUE(program.ok()) << program.status();
  return *program;
}

google::protobuf::Value ResultV(const std::string& v) {
  google::protobuf::Value value;
  (*value.mutable_struct_value()->mutable_fields())["v"].set_string_value(v);
  return value;
}

int NextDirNumber() {
  static int next = 0;
  return ++next;
}

// Runs against SQLite (answers from its writer thread, survives a restart).
class TaskRunnerWorkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) /
        absl::StrCat("task_runner_work_test_", getpid(), "_", NextDirNumber());
    std::filesystem::create_directories(dir_);
    OpenStore();
    StartRunner();
  }
  void TearDown() override {
    StopRunner();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void OpenStore() {
    auto opened =
        SqliteStore::Open({.data_dir = dir_.string(), .observer = &commits_});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }
  void StartRunner() {
    executor_ = *Executor::Create({.workers = 2, .clock = &clock_});
    runner_ = std::make_unique<TaskRunner>(*executor_, *store_, hub_);
  }
  void StopRunner() {
    if (runner_ == nullptr) return;
    runner_->BeginShutdown();
    executor_->Shutdown(ShutdownMode::kCancel);
    // Queued writes are answered before this one (see task_runner_test).
    EXPECT_TRUE(BlockingStore(*store_)
                    .PutDefinition(program_->definition(), absl::Now())
                    .ok());
    runner_.reset();
    executor_.reset();
  }
  // As the daemon starts: every unfinished task resumed from its record.
  void Restart() {
    StopRunner();
    store_.reset();
    OpenStore();
    StartRunner();
    absl::StatusOr<TaskRecord> record = store_->GetTask("t");
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_TRUE(runner_->Resume(*record, program_).ok());
  }

  void Start(const std::string& id = "t") {
    TaskRecord record;
    record.id = id;
    record.definition = program_->definition();
    record.created_at = clock_.Now();
    absl::Notification answered;
    absl::Status status;
    runner_->Start(std::move(record), program_,
                   *machine::Machine::Start(program_, {}, {.random_seed = 1}),
                   [&](absl::StatusOr<StartedTask> started) {
                     status = started.status();
                     answered.Notify();
                   });
    ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    ASSERT_TRUE(status.ok()) << status;
  }

  v1::TaskSnapshot Snapshot(const std::string& id = "t") {
    absl::StatusOr<TaskRecord> record = store_->GetTask(id);
    EXPECT_TRUE(record.ok()) << record.status();
    return record.ok() ? record->snapshot : v1::TaskSnapshot();
  }
  // Real time bounds the wait for the executor and the store's threads;
  // the task's own time is the manual clock.
  template <typename Predicate>
  bool Eventually(Predicate predicate) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!predicate()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }
  uint64_t Depth() {
    uint64_t depth = 0;
    for (const WorkQueueStats& stats : runner_->work_queues().Stats()) {
      if (stats.queue == "jobs") depth = stats.depth;
    }
    return depth;
  }

  // Takes one item from `jobs` as the PollWork RPC does: leased, then its
  // lease recorded before the answer.
  std::optional<WorkLease> Take(const std::string& worker = "w1") {
    if (!Eventually([&] { return Depth() > 0; })) return std::nullopt;
    absl::Notification polled;
    std::vector<WorkLease> leases;
    absl::StatusOr<WorkQueues::ConsumerId> poll = runner_->work_queues().Poll(
        {.queue = "jobs", .worker_identity = worker, .max_items = 1},
        [&](std::vector<WorkLease> answer) {
          leases = std::move(answer);
          polled.Notify();
        });
    EXPECT_TRUE(poll.ok()) << poll.status();
    if (!polled.WaitForNotificationWithTimeout(absl::Seconds(20))) {
      return std::nullopt;
    }
    if (leases.size() != 1) return std::nullopt;
    absl::Notification stored;
    std::vector<WorkLease> kept;
    runner_->StoreLeases(std::move(leases), [&](std::vector<WorkLease> done) {
      kept = std::move(done);
      stored.Notify();
    });
    EXPECT_TRUE(stored.WaitForNotificationWithTimeout(absl::Seconds(20)));
    if (kept.size() != 1) return std::nullopt;
    return std::move(kept[0]);
  }

  absl::Status Complete(const WorkLease& lease, const std::string& v) {
    absl::Notification answered;
    absl::Status status;
    runner_->CompleteWork(lease.token, ResultV(v), [&](absl::Status answer) {
      status = std::move(answer);
      answered.Notify();
    });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return status;
  }
  absl::Status Fail(const WorkLease& lease, const std::string& error,
                    bool retryable = true) {
    absl::Notification answered;
    absl::Status status;
    runner_->FailWork(lease.token,
                      machine::WorkFailure{error, "it broke", retryable},
                      [&](absl::Status answer) {
                        status = std::move(answer);
                        answered.Notify();
                      });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return status;
  }

  std::filesystem::path dir_;
  test_observer::RecordingObserver commits_;
  ManualClock clock_;
  std::shared_ptr<const machine::Program> program_ = WorkProgram();
  std::unique_ptr<TaskStore> store_;
  StreamHub hub_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskRunner> runner_;
};

TEST_F(TaskRunnerWorkTest, ACompletionIsOnDiskWhenAnsweredAndFeedsTheNext) {
  Start();
  std::optional<WorkLease> lease = Take();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->record.attempt, 1u);
  EXPECT_EQ(lease->input.struct_value().fields().at("n").number_value(), 7);
  // The lease is recorded before the worker hears of it.
  v1::TaskSnapshot leased = Snapshot();
  EXPECT_EQ(leased.status(), v1::TASK_STATUS_WORKING);
  EXPECT_EQ(leased.work().lease().worker_identity(), "w1");
  EXPECT_EQ(leased.work().lease().nonce(), lease->record.nonce);

  ASSERT_TRUE(Complete(*lease, "done-1").ok());
  // Answered OK: the store already holds the effect.
  v1::TaskSnapshot done = Snapshot();
  EXPECT_EQ(done.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(done.result(), "done-1");
  // A repeat is refused and changes nothing.
  absl::Status again = Complete(*lease, "done-2");
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition) << again;
  EXPECT_EQ(Snapshot().result(), "done-1");
}

TEST_F(TaskRunnerWorkTest, BackOffFollowsTheRetryRuleThenCatchTakesOver) {
  Start();
  std::optional<WorkLease> first = Take();
  ASSERT_TRUE(first.has_value());
  const absl::Time failed_at = clock_.Now();
  ASSERT_TRUE(Fail(*first, "boom").ok());
  v1::TaskSnapshot sleeping = Snapshot();
  EXPECT_EQ(sleeping.status(), v1::TASK_STATUS_SLEEPING);
  EXPECT_EQ(*machine::FromProtoTimestamp(sleeping.deadline()),
            failed_at + absl::Seconds(2));  // interval
  EXPECT_EQ(sleeping.work().last_error(), "boom");
  EXPECT_EQ(Depth(), 0u);

  clock_.Advance(absl::Seconds(2));
  std::optional<WorkLease> second = Take();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->record.attempt, 2u);
  // Attempt 1's token no longer answers for the task.
  EXPECT_EQ(Complete(*first, "stale").code(),
            absl::StatusCode::kFailedPrecondition);

  const absl::Time failed_again_at = clock_.Now();
  ASSERT_TRUE(Fail(*second, "boom").ok());
  EXPECT_EQ(*machine::FromProtoTimestamp(Snapshot().deadline()),
            failed_again_at + absl::Seconds(4));  // interval * backoffRate
  clock_.Advance(absl::Seconds(4));
  std::optional<WorkLease> third = Take();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->record.attempt, 3u);
  // maxAttempts reached: the catcher routes, with the error in `err`.
  ASSERT_TRUE(Fail(*third, "boom").ok());
  v1::TaskSnapshot caught = Snapshot();
  EXPECT_EQ(caught.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(caught.result(), "caught boom");
}

TEST_F(TaskRunnerWorkTest, ANonRetryableFailureGoesStraightToTheCatcher) {
  Start();
  std::optional<WorkLease> lease = Take();
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(Fail(*lease, "boom", /*retryable=*/false).ok());
  EXPECT_EQ(Snapshot().result(), "caught boom");
}

TEST_F(TaskRunnerWorkTest, AMissedHeartbeatRetriesAndFencesTheOldToken) {
  Start();
  std::optional<WorkLease> first = Take();
  ASSERT_TRUE(first.has_value());
  // A heartbeat within the interval keeps the lease.
  clock_.Advance(absl::Seconds(9));
  absl::StatusOr<WorkQueues::HeartbeatAnswer> beat =
      runner_->work_queues().Heartbeat(first->token, {});
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_EQ(beat->heartbeat_deadline, clock_.Now() + absl::Seconds(10));
  // Then silence past the deadline: the timer ends the lease.
  clock_.Advance(absl::Seconds(11));
  ASSERT_TRUE(Eventually(
      [&] { return Snapshot().status() == v1::TASK_STATUS_SLEEPING; }));
  EXPECT_EQ(Snapshot().work().last_error(), "heartbeat_timeout");
  EXPECT_EQ(Complete(*first, "late").code(),
            absl::StatusCode::kFailedPrecondition);
  clock_.Advance(absl::Seconds(2));
  std::optional<WorkLease> second = Take("w2");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->record.attempt, 2u);
  ASSERT_TRUE(Complete(*second, "from-w2").ok());
  EXPECT_EQ(Snapshot().result(), "from-w2");
}

TEST_F(TaskRunnerWorkTest, TheTimeoutEndsALeaseEvenWithHeartbeats) {
  Start();
  std::optional<WorkLease> lease = Take();
  ASSERT_TRUE(lease.has_value());
  for (int i = 0; i < 6; ++i) {
    clock_.Advance(absl::Seconds(9));
    ASSERT_TRUE(runner_->work_queues().Heartbeat(lease->token, {}).ok()) << i;
  }
  // 54s in; at 60s the attempt's timeout ends it. `timeout` is not retried
  // by the rule, so the catcher takes it.
  clock_.Advance(absl::Seconds(7));
  ASSERT_TRUE(Eventually(
      [&] { return Snapshot().status() == v1::TASK_STATUS_COMPLETED; }));
  EXPECT_EQ(Snapshot().result(), "caught timeout");
}

TEST_F(TaskRunnerWorkTest, CancellingTellsTheWorkerAndRefusesItsCompletion) {
  Start();
  std::optional<WorkLease> lease = Take();
  ASSERT_TRUE(lease.has_value());
  absl::Notification cancelled;
  runner_->Cancel("t", "stop", [&](absl::StatusOr<TaskRecord> record) {
    EXPECT_TRUE(record.ok()) << record.status();
    cancelled.Notify();
  });
  ASSERT_TRUE(cancelled.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(Snapshot().status(), v1::TASK_STATUS_CANCELLED);
  absl::StatusOr<WorkQueues::HeartbeatAnswer> beat =
      runner_->work_queues().Heartbeat(lease->token, {});
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_TRUE(beat->cancel_requested);
  absl::Status late = Complete(*lease, "late");
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition) << late;
  EXPECT_EQ(Snapshot().status(), v1::TASK_STATUS_CANCELLED);
  // The worker says it stopped: accepted, the task stays cancelled.
  absl::Status stopped = Fail(*lease, "cancelled");
  EXPECT_TRUE(stopped.ok()) << stopped;
  EXPECT_EQ(Snapshot().status(), v1::TASK_STATUS_CANCELLED);
}

TEST_F(TaskRunnerWorkTest, AnItemWhoseTaskEndedBeforeItsLeaseIsSentCancelled) {
  Start();
  ASSERT_TRUE(Eventually([&] { return Depth() == 1; }));
  // Dispatched, and the task's whole-task end recorded, before the lease
  // is stored: as when a cancel races a poll.
  std::vector<WorkLease> leases;
  ASSERT_TRUE(runner_->work_queues()
                  .Poll({.queue = "jobs", .worker_identity = "w"},
                        [&](std::vector<WorkLease> answer) {
                          leases = std::move(answer);
                        })
                  .ok());
  ASSERT_EQ(leases.size(), 1u);
  const std::string token = leases[0].token;
  absl::Notification cancelled;
  runner_->Cancel("t", "stop",
                  [&](absl::StatusOr<TaskRecord>) { cancelled.Notify(); });
  ASSERT_TRUE(cancelled.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(Eventually([&] { return runner_->live_count() == 0; }));
  absl::Notification stored;
  std::vector<WorkLease> delivered;
  runner_->StoreLeases(std::move(leases), [&](std::vector<WorkLease> done) {
    delivered = std::move(done);
    stored.Notify();
  });
  ASSERT_TRUE(stored.WaitForNotificationWithTimeout(absl::Seconds(20)));
  // Delivered (the worker's credit is used by an item it holds), and the
  // worker learns at once that it is cancelled.
  ASSERT_EQ(delivered.size(), 1u);
  absl::StatusOr<WorkQueues::HeartbeatAnswer> beat =
      runner_->work_queues().Heartbeat(token, {});
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_TRUE(beat->cancel_requested);
  EXPECT_EQ(Complete(delivered[0], "late").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Snapshot().status(), v1::TASK_STATUS_CANCELLED);
}

TEST_F(TaskRunnerWorkTest, AResultATaskCannotHoldIsRefusedAndTheLeaseKept) {
  Start();
  std::optional<WorkLease> lease = Take();
  ASSERT_TRUE(lease.has_value());
  google::protobuf::Value nan;
  nan.set_number_value(std::numeric_limits<double>::quiet_NaN());
  absl::Notification answered;
  absl::Status refused;
  runner_->CompleteWork(lease->token, nan, [&](absl::Status status) {
    refused = std::move(status);
    answered.Notify();
  });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_EQ(Snapshot().status(), v1::TASK_STATUS_WORKING);
  ASSERT_TRUE(Complete(*lease, "fixed").ok());
  EXPECT_EQ(Snapshot().result(), "fixed");
}

TEST_F(TaskRunnerWorkTest, AnAcceptedAnswerAndALeaseAreSyncedToDisk) {
  // Progress of a task in mid-run is batched unsynced; what a worker was
  // answered OK for is not.
  program_ = TwoWorkProgram();
  Start();
  std::optional<WorkLease> first = Take();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(commits_.synced().back()) << "the lease's record";
  ASSERT_TRUE(Complete(*first, "a").ok());
  EXPECT_TRUE(commits_.synced().back()) << "the record with FIRST over";
  EXPECT_EQ(Snapshot().state(), "SECOND");
}

TEST_F(TaskRunnerWorkTest, ACompletionWithoutAResultCompletesWithNull) {
  program_ = TwoWorkProgram();
  Start();
  std::optional<WorkLease> lease = Take();
  ASSERT_TRUE(lease.has_value());
  absl::Notification answered;
  absl::Status status;
  runner_->CompleteWork(lease->token, google::protobuf::Value(),
                        [&](absl::Status answer) {
                          status = std::move(answer);
                          answered.Notify();
                        });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Snapshot().state(), "SECOND");
}

TEST_F(TaskRunnerWorkTest, ALeaseSurvivesARestartAndItsTokenStillAnswers) {
  Start();
  std::optional<WorkLease> lease = Take();
  ASSERT_TRUE(lease.has_value());
  Restart();
  // The same token, presented to the restarted runner.
  ASSERT_TRUE(Eventually([&] {
    for (const WorkQueueStats& stats : runner_->work_queues().Stats()) {
      if (stats.queue == "jobs" && stats.leased == 1) return true;
    }
    return false;
  }));
  ASSERT_TRUE(Complete(*lease, "after-restart").ok());
  EXPECT_EQ(Snapshot().result(), "after-restart");
}

TEST_F(TaskRunnerWorkTest, AQueuedItemIsQueuedAgainAfterARestart) {
  Start();
  ASSERT_TRUE(Eventually([&] { return Depth() == 1; }));
  Restart();
  std::optional<WorkLease> lease = Take();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->record.attempt, 1u);
  ASSERT_TRUE(Complete(*lease, "redelivered").ok());
  EXPECT_EQ(Snapshot().result(), "redelivered");
}

TEST_F(TaskRunnerWorkTest, AWorkStateAfterAnotherIsAFreshAttemptWithNoLease) {
  program_ = TwoWorkProgram();
  Start();
  std::optional<WorkLease> first = Take();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->input.string_value(), "FIRST");
  // Answered once the record shows FIRST over, though SECOND's attempt is
  // attempt 1 too.
  ASSERT_TRUE(Complete(*first, "a").ok());
  ASSERT_TRUE(Eventually([&] { return Depth() == 1; }));
  v1::TaskSnapshot second_queued = Snapshot();
  EXPECT_EQ(second_queued.state(), "SECOND");
  EXPECT_EQ(second_queued.work().attempt(), 1u);
  // FIRST's lease is not SECOND's.
  EXPECT_FALSE(second_queued.work().has_lease());
  // After a restart SECOND's item is queued, and FIRST's token answers
  // nothing.
  Restart();
  EXPECT_EQ(Complete(*first, "stale").code(),
            absl::StatusCode::kFailedPrecondition);
  std::optional<WorkLease> second = Take();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->input.string_value(), "SECOND");
  ASSERT_TRUE(Complete(*second, "b").ok());
  EXPECT_EQ(Snapshot().result(), "a+b");
}

}  // namespace
}  // namespace corosched::server
