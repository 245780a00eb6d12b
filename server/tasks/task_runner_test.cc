#include "server/tasks/task_runner.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/group_commit_test_observer.h"
#include "server/store/testing/sqlite_fault_vfs.h"

namespace corosched::server {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

enum class StoreKind { kMemory, kSqlite };

// A new number for each test's data directory in this process.
int NextDirNumber() {
  static int next = 0;
  return ++next;
}

std::string StoreName(const ::testing::TestParamInfo<StoreKind>& info) {
  return info.param == StoreKind::kMemory ? "Memory" : "Sqlite";
}

// Every test runs against both stores: the in-memory one answers writes
// inline, on the caller's thread; SQLite answers them from its writer
// thread after a group commit.
class TaskRunnerTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (GetParam() == StoreKind::kMemory) {
      store_ = std::make_unique<MemoryStore>();
    } else {
      dir_ = std::filesystem::path(::testing::TempDir()) /
             absl::StrCat("task_runner_test_", getpid(), "_", NextDirNumber());
      std::filesystem::create_directories(dir_);
      auto opened = SqliteStore::Open({.data_dir = dir_.string()});
      ASSERT_TRUE(opened.ok()) << opened.status();
      store_ = *std::move(opened);
    }
    StartRunner();
  }
  void TearDown() override {
    StopRunner();
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void StartRunner() {
    executor_ = *Executor::Create({.workers = 2});
    runner_ = std::make_unique<TaskRunner>(*executor_, *store_, hub_);
  }
  // As the daemon stops: tasks are dropped and stay as last recorded.
  void StopRunner() {
    if (runner_ == nullptr) return;
    runner_->BeginShutdown();
    executor_->Shutdown(ShutdownMode::kCancel);
    // Writes of the runner's tasks may still be queued in the store, and
    // their callbacks reach the runner: a write waited for queues behind
    // them and is answered after them (the store answers in order). The
    // daemon closes its store before the runner for the same reason.
    EXPECT_TRUE(BlockingStore(*store_)
                    .PutDefinition(program_->definition(), absl::Now())
                    .ok());
    runner_.reset();
    executor_.reset();
  }

  absl::StatusOr<StartedTask> Start(const std::string& id,
                                    const std::string& fingerprint = "") {
    TaskRecord record;
    record.id = id;
    record.request_fingerprint = fingerprint;
    record.definition = program_->definition();
    record.created_at = absl::Now();
    absl::Notification answered;
    absl::StatusOr<StartedTask> result;
    runner_->Start(std::move(record), program_,
                   machine::Machine::Start(program_),
                   [&](absl::StatusOr<StartedTask> started) {
                     result = std::move(started);
                     answered.Notify();
                   });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return result;
  }

  absl::StatusOr<v1::WakeTaskResponse> Wake(const std::string& id,
                                            const std::string& request_id) {
    v1::Signal go;
    go.set_name("go");
    absl::Notification answered;
    absl::StatusOr<v1::WakeTaskResponse> result;
    runner_->Wake(id, go, request_id,
                  [&](absl::StatusOr<v1::WakeTaskResponse> response) {
                    result = std::move(response);
                    answered.Notify();
                  });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return result;
  }

  v1::TaskStatus Status(const std::string& id) {
    absl::StatusOr<TaskRecord> record = store_->GetTask(id);
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
    absl::StatusOr<EventBatch> batch = store_->ReadEvents(id, 0, 1000);
    if (!batch.ok()) return -1;
    for (const v1::TaskEvent& event : batch->events) {
      finished += event.has_finished() ? 1 : 0;
    }
    return finished;
  }

  std::filesystem::path dir_;
  std::shared_ptr<const machine::Program> program_ = AwaitGoProgram();
  std::unique_ptr<TaskStore> store_;
  StreamHub hub_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskRunner> runner_;
};

TEST_P(TaskRunnerTest, CancelRacingAWakeEndsTheTaskOnceAndAnswers) {
  constexpr int kTasks = 200;
  std::atomic<int> answered{0};
  for (int i = 0; i < kTasks; ++i) {
    const std::string id = absl::StrCat("t", i);
    ASSERT_TRUE(Start(id).ok());
    ASSERT_TRUE(AwaitStatus(id, v1::TASK_STATUS_AWAITING));
    std::thread waker([&] { (void)Wake(id, ""); });
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

TEST_P(TaskRunnerTest, ConcurrentSubmitsOfOneIdCreateOneTask) {
  constexpr int kThreads = 8;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
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

TEST_P(TaskRunnerTest, ShutdownLeavesUnfinishedTasksAsRecorded) {
  ASSERT_TRUE(Start("waiting").ok());
  ASSERT_TRUE(AwaitStatus("waiting", v1::TASK_STATUS_AWAITING));
  runner_->BeginShutdown();
  executor_->Shutdown(ShutdownMode::kCancel);
  EXPECT_EQ(Status("waiting"), v1::TASK_STATUS_AWAITING);
  EXPECT_EQ(FinishedEvents("waiting"), 0);
  EXPECT_FALSE(store_->GetTask("waiting")->finished_at.has_value());
  EXPECT_EQ(runner_->live_count(), 0u);
}

TEST_P(TaskRunnerTest, WaitUntilIdleReturnsOnceTasksEnd) {
  ASSERT_TRUE(Start("a").ok());
  ASSERT_TRUE(AwaitStatus("a", v1::TASK_STATUS_AWAITING));
  EXPECT_FALSE(runner_->WaitUntilIdle(absl::Now() + absl::Milliseconds(20)));
  std::thread waker([&] { EXPECT_TRUE(Wake("a", "").ok()); });
  EXPECT_TRUE(runner_->WaitUntilIdle(absl::Now() + absl::Seconds(20)));
  waker.join();
  EXPECT_EQ(Status("a"), v1::TASK_STATUS_COMPLETED);
}

TEST_P(TaskRunnerTest, ARepeatedWakeRequestIdIsDeliveredOnceEvenInFlight) {
  ASSERT_TRUE(Start("w").ok());
  ASSERT_TRUE(AwaitStatus("w", v1::TASK_STATUS_AWAITING));
  constexpr int kRepeats = 8;
  std::atomic<int> firsts{0};
  std::atomic<int> duplicates{0};
  std::vector<std::thread> threads;
  threads.reserve(kRepeats);
  for (int i = 0; i < kRepeats; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<v1::WakeTaskResponse> answer = Wake("w", "request-1");
      ASSERT_TRUE(answer.ok()) << answer.status();
      (answer->duplicate() ? duplicates : firsts).fetch_add(1);
      EXPECT_EQ(answer->disposition(), v1::WakeTaskResponse::CONSUMED);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(firsts.load(), 1);
  EXPECT_EQ(duplicates.load(), kRepeats - 1);
  ASSERT_TRUE(AwaitStatus("w", v1::TASK_STATUS_COMPLETED));
  EXPECT_EQ(FinishedEvents("w"), 1);
}

TEST_P(TaskRunnerTest, ResumeContinuesATaskFromItsRecordedSnapshot) {
  ASSERT_TRUE(Start("r").ok());
  ASSERT_TRUE(AwaitStatus("r", v1::TASK_STATUS_AWAITING));
  StopRunner();  // as at a restart: the task stays AWAITING in the store
  StartRunner();
  int resumed = 0;
  ASSERT_TRUE(store_
                  ->ForEachUnfinishedTask(
                      [&](const TaskRecord& record) {
                        ++resumed;
                        return runner_->Resume(record, program_);
                      },
                      100)
                  .ok());
  EXPECT_EQ(resumed, 1);
  EXPECT_EQ(runner_->live_count(), 1u);
  absl::StatusOr<v1::WakeTaskResponse> woken = Wake("r", "after-restart");
  ASSERT_TRUE(woken.ok()) << woken.status();
  EXPECT_FALSE(woken->duplicate());
  ASSERT_TRUE(AwaitStatus("r", v1::TASK_STATUS_COMPLETED));
  EXPECT_EQ(FinishedEvents("r"), 1);
  EXPECT_EQ(store_->GetTask("r")->snapshot.result(), "went");
}

TEST_P(TaskRunnerTest, ResumeRefusesASnapshotItsProgramCannotContinue) {
  TaskRecord record;
  record.id = "broken";
  record.definition = program_->definition();
  record.snapshot.set_state("NO_SUCH_STATE");
  record.snapshot.set_status(v1::TASK_STATUS_AWAITING);
  absl::Status resumed = runner_->Resume(record, program_);
  EXPECT_FALSE(resumed.ok());
  EXPECT_THAT(std::string(resumed.message()), HasSubstr("\"broken\""));
  EXPECT_EQ(runner_->live_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Stores, TaskRunnerTest,
                         ::testing::Values(StoreKind::kMemory,
                                           StoreKind::kSqlite),
                         StoreName);

// With a durable store, a task whose id the daemon chose runs while its
// create waits for the commit; a client-chosen id waits for the commit (it
// may name a task that exists). Either way the answer comes after the
// commit and shows the task as submitted.
class TaskRunnerDurableStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) /
        absl::StrCat("task_runner_start_test_", getpid(), "_", NextDirNumber());
    std::filesystem::create_directories(dir_);
    observer_.HoldFirstCommit();
    auto opened =
        SqliteStore::Open({.data_dir = dir_.string(), .observer = &observer_});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    executor_ = *Executor::Create({.workers = 2});
    runner_ = std::make_unique<TaskRunner>(*executor_, *store_, hub_);
    // Holds the writer's first commit: later writes queue behind it.
    TaskRecord blocker;
    blocker.id = "blocker";
    blocker.definition = program_->definition();
    blocker.snapshot.set_status(v1::TASK_STATUS_AWAITING);
    store_->CreateTaskAsync(std::move(blocker), {}, nullptr);
    observer_.WaitUntilHeld();
  }
  void TearDown() override {
    Release();
    runner_->BeginShutdown();
    executor_->Shutdown(ShutdownMode::kCancel);
    // As the daemon stops: the store commits what is queued and answers it
    // while the runner its callbacks reach still exists.
    store_.reset();
    runner_.reset();
    executor_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Release() {
    if (!released_) observer_.Release();
    released_ = true;
  }

  // Starts task `id` of program_ (it completes at its first poll).
  void Start(const std::string& id, const std::string& fingerprint) {
    TaskRecord record;
    record.id = id;
    record.request_fingerprint = fingerprint;
    record.definition = program_->definition();
    record.created_at = absl::Now();
    runner_->Start(std::move(record), program_,
                   *machine::Machine::Start(program_, {}),
                   [this](absl::StatusOr<StartedTask> started) {
                     started_ = std::move(started);
                     answered_.Notify();
                   });
  }

  // Whether the executor holds no task (the started one has ended) within
  // `limit`.
  bool Ended(absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    while (executor_->Stats().live_tasks != 0) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  std::filesystem::path dir_;
  test_observer::RecordingObserver observer_;
  bool released_ = false;
  std::shared_ptr<const machine::Program> program_ = [] {
    v1::TaskDefinition definition;
    definition.set_name("at-once");
    definition.set_initial("A");
    (*definition.mutable_states())["A"].mutable_complete()->set_result("done");
    return *machine::Program::Compile(definition);
  }();
  std::unique_ptr<TaskStore> store_;
  StreamHub hub_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskRunner> runner_;
  absl::Notification answered_;
  absl::StatusOr<StartedTask> started_ = absl::UnknownError("unanswered");
};

TEST_F(TaskRunnerDurableStartTest, ADaemonChosenIdRunsBeforeItsCreateIsStored) {
  Start("daemon-chosen", "");
  EXPECT_TRUE(Ended(absl::Seconds(20)));  // ran to the end, commit held
  EXPECT_FALSE(answered_.HasBeenNotified());
  Release();
  ASSERT_TRUE(answered_.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(started_.ok()) << started_.status();
  EXPECT_TRUE(started_->created);
  EXPECT_EQ(started_->task.status(), v1::TASK_STATUS_READY);
  absl::StatusOr<TaskRecord> stored = store_->GetTask("daemon-chosen");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->snapshot.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_TRUE(stored->finished_at.has_value());
  // The blocker's commit, then the task's create with its progress joined.
  EXPECT_THAT(observer_.batches(), ElementsAre(1, 1));
}

TEST_F(TaskRunnerDurableStartTest, AClientChosenIdWaitsForItsCreate) {
  Start("client-chosen", "fingerprint");
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(executor_->Stats().live_tasks, 1u);  // at its gate
  EXPECT_FALSE(answered_.HasBeenNotified());
  Release();
  ASSERT_TRUE(answered_.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(started_.ok()) << started_.status();
  EXPECT_EQ(started_->task.status(), v1::TASK_STATUS_READY);
  EXPECT_TRUE(Ended(absl::Seconds(20)));
}

// A task that yields without end, so it records a poll in every 17.
std::shared_ptr<const machine::Program> YieldLoopProgram() {
  v1::TaskDefinition definition;
  definition.set_name("yield-loop");
  definition.set_initial("A");
  auto& states = *definition.mutable_states();
  states["A"].set_emit("a");
  states["A"].mutable_yield()->set_next("B");
  states["B"].set_emit("b");
  states["B"].mutable_yield()->set_next("C");
  // Back to A until `stop` is set (never): END is reachable, as it must be.
  v1::Choice& choice = *states["C"].mutable_choice();
  v1::Branch& stop = *choice.add_when();
  stop.set_variable("stop");
  stop.set_is_set(true);
  stop.set_next("END");
  choice.set_otherwise("A");
  states["END"].mutable_complete();
  return *machine::Program::Compile(definition);
}

TEST_F(TaskRunnerDurableStartTest, ABusyTaskWaitsForItsWriteInFlight) {
  auto loop = YieldLoopProgram();
  TaskRecord record;
  record.id = "busy";
  record.definition = loop->definition();
  record.created_at = absl::Now();
  runner_->Start(std::move(record), loop, machine::Machine::Start(loop),
                 [](const absl::StatusOr<StartedTask>&) {});
  // It runs until one progress write is queued behind the held commit (it
  // joins the task's create there) and
  // its next record waits for that one: then it stops being polled,
  // instead of piling up records while the store is busy.
  uint64_t polls = executor_->Stats().polls;
  for (int i = 0; i < 2000; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    const uint64_t now = executor_->Stats().polls;
    if (now == polls) break;
    polls = now;
  }
  EXPECT_LT(polls, 100u) << "a task waiting for its write kept running";
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(executor_->Stats().polls, polls);
  Release();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (executor_->Stats().polls < polls + 1000 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_GE(executor_->Stats().polls, polls + 1000) << "it did not go on";
}

// A cancel whose end cannot be stored is answered UNAVAILABLE, never OK,
// and the store still holds the task as it was.
TEST(TaskRunnerStoreFailureTest, ACancelThatIsNotStoredIsUnavailable) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat("task_runner_failure_test_", getpid(), "_", NextDirNumber());
  std::filesystem::create_directories(dir);
  std::unique_ptr<SqliteFaultVfs> vfs =
      SqliteFaultVfs::Register(absl::StrCat("runner-fault-", getpid()));
  ASSERT_NE(vfs, nullptr);
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open({.data_dir = dir.string(), .vfs = vfs->name()});
  ASSERT_TRUE(store.ok()) << store.status();
  StreamHub hub;
  std::unique_ptr<Executor> executor = *Executor::Create({.workers = 2});
  auto runner = std::make_unique<TaskRunner>(*executor, **store, hub);
  auto program = AwaitGoProgram();
  TaskRecord record;
  record.id = "t";
  record.request_fingerprint = "f";
  record.definition = program->definition();
  record.created_at = absl::Now();
  absl::Notification started;
  runner->Start(std::move(record), program, machine::Machine::Start(program),
                [&](const absl::StatusOr<StartedTask>& task) {
                  EXPECT_TRUE(task.ok()) << task.status();
                  started.Notify();
                });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(20)));

  vfs->FailWrites(SQLITE_FULL);  // a full disk: nothing of it is written
  absl::Notification answered;
  absl::StatusOr<TaskRecord> answer;
  runner->Cancel("t", "stop", [&](absl::StatusOr<TaskRecord> cancelled) {
    answer = std::move(cancelled);
    answered.Notify();
  });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << (answer.ok() ? answer->snapshot.DebugString() : "");
  EXPECT_THAT(answer.status().message(), HasSubstr("did not take effect"));

  runner->BeginShutdown();
  executor->Shutdown(ShutdownMode::kCancel);
  store->reset();
  runner.reset();
  vfs->Heal();
  store = SqliteStore::Open({.data_dir = dir.string(), .vfs = vfs->name()});
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<TaskRecord> kept = (*store)->GetTask("t");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_NE(kept->snapshot.status(), v1::TASK_STATUS_CANCELLED);
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace corosched::server
