// TaskRunner never waits for the store's reads: what a submit, a wake or a
// cancel must read before it can act is read with the store's ...Async
// reads, and the call returns while the read's answer is still to come.
// Each test holds those answers (HeldReadsStore) and checks that the call
// returned unanswered, read nothing synchronously, and answers right once
// the read is released; then, that what changed meanwhile is seen.

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/held_reads_store.h"
#include "server/tasks/task_runner.h"

namespace corosched::server {
namespace {

// A and B each await `go`; then the task completes.
std::shared_ptr<const machine::Program> TwoAwaitsProgram() {
  v1::TaskDefinition definition;
  definition.set_name("two-awaits");
  definition.set_initial("A");
  auto& states = *definition.mutable_states();
  (*states["A"].mutable_await()->mutable_signals())["go"] = "B";
  (*states["B"].mutable_await()->mutable_signals())["go"] = "DONE";
  states["DONE"].mutable_complete();
  return *machine::Program::Compile(definition);
}

// One call's answer, and whether it came.
template <typename T>
struct Answer {
  absl::AnyInvocable<void(absl::StatusOr<T>) &&> Callback() {
    return [this](absl::StatusOr<T> answer) {
      value = std::move(answer);
      given.Notify();
    };
  }
  bool given_yet() const { return given.HasBeenNotified(); }

  absl::Notification given;
  absl::StatusOr<T> value = absl::UnknownError("unanswered");
};

class TaskRunnerReadTest : public ::testing::Test {
 protected:
  void TearDown() override {
    runner_->BeginShutdown();
    executor_->Shutdown(ShutdownMode::kCancel);
    while (store_.ReleaseOne()) {
    }
  }

  TaskRecord Record(const std::string& id, const std::string& fingerprint) {
    TaskRecord record;
    record.id = id;
    record.request_fingerprint = fingerprint;
    record.definition = program_->definition();
    record.created_at = absl::Now();
    return record;
  }
  void Start(const std::string& id, const std::string& fingerprint,
             Answer<StartedTask>& answer) {
    runner_->Start(Record(id, fingerprint), program_,
                   machine::Machine::Start(program_), answer.Callback());
  }
  void Wake(const std::string& id, const std::string& request_id,
            Answer<v1::WakeTaskResponse>& answer) {
    v1::Signal go;
    go.set_name("go");
    runner_->Wake(id, go, request_id, answer.Callback());
  }
  // Task `id`, started with a daemon-chosen id (no read) and awaiting.
  void StartAwaiting(const std::string& id) {
    Answer<StartedTask> started;
    Start(id, "", started);
    ASSERT_TRUE(
        started.given.WaitForNotificationWithTimeout(absl::Seconds(20)));
    ASSERT_TRUE(started.value.ok()) << started.value.status();
    ASSERT_TRUE(Until([&] { return Status(id) == v1::TASK_STATUS_AWAITING; }));
  }
  // Task `id` as an earlier process left it: ended, with wake `request_id`.
  void AddEnded(const std::string& id, const std::string& request_id) {
    BlockingStore recorded(memory_);
    ASSERT_TRUE(recorded.CreateTask(Record(id, ""), {}).ok());
    ASSERT_TRUE(recorded
                    .RecordWakeSignal(id, request_id,
                                      {v1::WakeTaskResponse::CONSUMED, 1}, {})
                    .ok());
    TaskProgress end;
    end.snapshot.set_status(v1::TASK_STATUS_COMPLETED);
    end.finished_at = absl::Now();
    ASSERT_TRUE(recorded.RecordProgress(id, std::move(end)).ok());
  }

  // Read from the store behind, not through store_ (which counts reads).
  v1::TaskStatus Status(const std::string& id) {
    absl::StatusOr<TaskRecord> record = memory_.GetTask(id);
    return record.ok() ? record->snapshot.status()
                       : v1::TASK_STATUS_UNSPECIFIED;
  }
  static bool Until(absl::FunctionRef<bool()> done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  std::shared_ptr<const machine::Program> program_ = TwoAwaitsProgram();
  MemoryStore memory_;
  HeldReadsStore store_{memory_};
  StreamHub hub_;
  std::unique_ptr<Executor> executor_ = *Executor::Create({.workers = 2});
  std::unique_ptr<TaskRunner> runner_ =
      std::make_unique<TaskRunner>(*executor_, store_, hub_);
};

TEST_F(TaskRunnerReadTest, ASubmitOfAClientChosenIdReturnsBeforeItsLookup) {
  Answer<StartedTask> started;
  Start("x", "request", started);
  EXPECT_FALSE(started.given_yet());
  EXPECT_EQ(store_.held(), 1);
  EXPECT_EQ(executor_->Stats().live_tasks, 0u);  // admitted once known new
  ASSERT_TRUE(store_.ReleaseOne());
  ASSERT_TRUE(started.given_yet());  // the memory store creates at once
  ASSERT_TRUE(started.value.ok()) << started.value.status();
  EXPECT_TRUE(started.value->created);
  EXPECT_EQ(store_.sync_reads(), 0);
}

TEST_F(TaskRunnerReadTest,
       ASubmitThatLosesTheRaceForItsIdReturnsBeforeItsRead) {
  Answer<StartedTask> winner;
  Answer<StartedTask> loser;
  Start("x", "request", winner);
  Start("x", "request", loser);
  ASSERT_EQ(store_.held(), 2);  // both found the id free
  ASSERT_TRUE(store_.ReleaseOne());
  ASSERT_TRUE(winner.value.ok()) << winner.value.status();
  EXPECT_TRUE(winner.value->created);
  // The loser finds the id live, and reads the task holding it.
  ASSERT_TRUE(store_.ReleaseOne());
  EXPECT_FALSE(loser.given_yet());
  EXPECT_EQ(store_.held(), 1);
  ASSERT_TRUE(store_.ReleaseOne());
  ASSERT_TRUE(loser.value.ok()) << loser.value.status();
  EXPECT_FALSE(loser.value->created);  // the same request: the winner's task
  EXPECT_EQ(store_.sync_reads(), 0);
}

TEST_F(TaskRunnerReadTest,
       ARepeatedWakeReturnsBeforeItsLookupAndIsDeliveredOnce) {
  StartAwaiting("t");
  Answer<v1::WakeTaskResponse> first;
  Answer<v1::WakeTaskResponse> repeat;
  Wake("t", "r", first);
  Wake("t", "r", repeat);  // joins the first: no lookup of its own
  EXPECT_FALSE(first.given_yet());
  EXPECT_FALSE(repeat.given_yet());
  EXPECT_EQ(store_.held(), 1);
  ASSERT_TRUE(store_.ReleaseOne());
  ASSERT_TRUE(first.value.ok()) << first.value.status();
  EXPECT_FALSE(first.value->duplicate());
  ASSERT_TRUE(repeat.value.ok()) << repeat.value.status();
  EXPECT_TRUE(repeat.value->duplicate());
  EXPECT_EQ(repeat.value->sequence(), first.value->sequence());
  // Delivered once: the task moved from A to B, where it awaits again.
  ASSERT_TRUE(Until([&] {
    return memory_.GetTask("t")->snapshot.state() == "B" &&
           Status("t") == v1::TASK_STATUS_AWAITING;
  }));

  Answer<v1::WakeTaskResponse> later;  // after the first was stored
  Wake("t", "r", later);
  EXPECT_FALSE(later.given_yet());
  ASSERT_TRUE(store_.ReleaseOne());
  ASSERT_TRUE(later.value.ok()) << later.value.status();
  EXPECT_TRUE(later.value->duplicate());
  EXPECT_EQ(later.value->sequence(), first.value->sequence());
  EXPECT_EQ(memory_.GetTask("t")->snapshot.state(), "B");  // not delivered
  EXPECT_EQ(store_.sync_reads(), 0);
}

TEST_F(TaskRunnerReadTest, AWakeLookedUpWhileItsTaskEndsIsRefusedAsEnded) {
  StartAwaiting("t");
  Answer<v1::WakeTaskResponse> woken;
  Wake("t", "r", woken);
  ASSERT_EQ(store_.held(), 1);
  Answer<TaskRecord> cancelled;
  runner_->Cancel("t", "stop", cancelled.Callback());
  ASSERT_TRUE(Until([&] { return runner_->live_count() == 0; }));
  ASSERT_TRUE(store_.ReleaseOne());  // the wake's lookup, answered late
  EXPECT_EQ(woken.value.status().code(), absl::StatusCode::kFailedPrecondition)
      << woken.value.status();
  EXPECT_EQ(Status("t"), v1::TASK_STATUS_CANCELLED);
  ASSERT_TRUE(store_.ReleaseOne());  // the cancel's answer, read after its end
  ASSERT_TRUE(cancelled.value.ok()) << cancelled.value.status();
  EXPECT_EQ(cancelled.value->snapshot.status(), v1::TASK_STATUS_CANCELLED);
  EXPECT_EQ(store_.sync_reads(), 0);
}

TEST_F(TaskRunnerReadTest, AWakeOfATaskThatIsNotLiveReturnsBeforeItsReads) {
  AddEnded("ended", "r");
  Answer<v1::WakeTaskResponse> repeated;
  Wake("ended", "r", repeated);
  EXPECT_FALSE(repeated.given_yet());
  ASSERT_TRUE(store_.ReleaseOne());  // the task
  EXPECT_FALSE(repeated.given_yet());
  ASSERT_TRUE(store_.ReleaseOne());  // the request id
  ASSERT_TRUE(repeated.value.ok()) << repeated.value.status();
  EXPECT_TRUE(repeated.value->duplicate());

  Answer<v1::WakeTaskResponse> late;
  Wake("ended", "new", late);
  while (store_.ReleaseOne()) {
  }
  EXPECT_EQ(late.value.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_.sync_reads(), 0);
}

TEST_F(TaskRunnerReadTest, ACancelOfATaskThatIsNotLiveReturnsBeforeItsRead) {
  AddEnded("ended", "r");
  Answer<TaskRecord> cancelled;
  runner_->Cancel("ended", "stop", cancelled.Callback());
  EXPECT_FALSE(cancelled.given_yet());
  ASSERT_TRUE(store_.ReleaseOne());
  ASSERT_TRUE(cancelled.value.ok()) << cancelled.value.status();
  EXPECT_EQ(cancelled.value->snapshot.status(), v1::TASK_STATUS_COMPLETED);

  Answer<TaskRecord> unknown;
  runner_->Cancel("nobody", "stop", unknown.Callback());
  EXPECT_FALSE(unknown.given_yet());
  ASSERT_TRUE(store_.ReleaseOne());
  EXPECT_EQ(unknown.value.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.sync_reads(), 0);
}

}  // namespace
}  // namespace corosched::server
