#include "core/machine/machine_task.h"

#include <atomic>
#include <cstddef>
#include <string>
#include <thread>

#include "core/machine/testing/definitions.h"
#include "core/machine/testing/executor_harness.h"
#include "core/time/timer_driver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using testing::ExecutorHarness;
using ::testing::HasSubstr;
using testing::MakeSignal;
using Disposition = WakeReceipt::Disposition;

constexpr absl::string_view kSleepThenAwait = R"({"name": "t", "initial": "A",
  "states": {
    "A": {"emit": "a", "sleep": {"duration": "5s", "next": "B"}},
    "B": {"emit": "b", "await": {"signals": {"go": "END"}, "timeout": "10s",
                                 "onTimeout": "LATE"}},
    "END": {"complete": {"result": "got ${signal.n}"}},
    "LATE": {"fail": {"error": "late"}}}})";

TEST(MachineTaskTest, RunsTheSeedExample) {
  ExecutorHarness harness;
  harness.Start(testing::kHelloJson);
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->status, v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(harness.output(), "Hello, World!\n");
  EXPECT_EQ(harness.task().Snapshot().steps().polls(), 3);
}

TEST(MachineTaskTest, SleepsOnTheExecutorsTimers) {
  ExecutorHarness harness;
  harness.Start(kSleepThenAwait);
  harness.WaitFor(v1::TASK_STATUS_SLEEPING, "A", 1);
  harness.Advance(absl::Seconds(4));
  EXPECT_EQ(harness.task().status(), v1::TASK_STATUS_SLEEPING);
  harness.Advance(absl::Seconds(1));
  harness.WaitFor(v1::TASK_STATUS_AWAITING, "B", 2);
  EXPECT_EQ(harness.Wake("go", R"({"n": 1})"), Disposition::kConsumed);
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->result, "got 1");
  EXPECT_EQ(harness.output(), "ab");
}

TEST(MachineTaskTest, BuffersAWakeThatArrivesBeforeTheAwait) {
  ExecutorHarness harness;
  harness.Start(kSleepThenAwait);
  harness.WaitFor(v1::TASK_STATUS_SLEEPING, "A", 1);
  EXPECT_EQ(harness.Wake("go", R"({"n": 2})"), Disposition::kBuffered);
  harness.Advance(absl::Seconds(5));
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->result, "got 2");
}

TEST(MachineTaskTest, TimesOutOnTheExecutorsTimers) {
  ExecutorHarness harness;
  harness.Start(kSleepThenAwait);
  harness.WaitFor(v1::TASK_STATUS_SLEEPING, "A", 1);
  harness.Advance(absl::Seconds(5));
  harness.WaitFor(v1::TASK_STATUS_AWAITING, "B", 2);
  harness.Advance(absl::Seconds(10));
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->status, v1::TASK_STATUS_FAILED);
  EXPECT_EQ(end->error, "late");
  EXPECT_EQ(harness.Wake("go"), Disposition::kRefusedEnded);
}

TEST(MachineTaskTest, CancellingRefusesLaterWakes) {
  ExecutorHarness harness;
  harness.Start(kSleepThenAwait);
  harness.WaitFor(v1::TASK_STATUS_SLEEPING, "A", 1);
  harness.handle().Cancel();
  absl::StatusOr<TaskEnd> end = harness.Join();
  EXPECT_EQ(end.status().code(), absl::StatusCode::kCancelled);
  harness.WaitFor([](const v1::TaskSnapshot& snapshot) {
    return snapshot.status() == v1::TASK_STATUS_CANCELLED;
  });
  EXPECT_EQ(harness.Wake("go"), Disposition::kRefusedEnded);
}

TEST(MachineTaskTest, ARestoredTaskResumesFromItsSnapshot) {
  std::shared_ptr<const Program> program = CompileOrDie(kSleepThenAwait);
  ExecutorHarness harness;
  Machine original = Machine::Start(program);
  original.Poll(harness.clock().Now());  // sleeping until now + 5s
  ASSERT_TRUE(
      original.Deliver(MakeSignal("go", R"({"n": 3})"), harness.clock().Now())
          .ok());
  absl::StatusOr<Machine> restored =
      Machine::Restore(program, original.Snapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  harness.Spawn(*std::move(restored));
  harness.WaitFor(v1::TASK_STATUS_SLEEPING, "A", 1);
  harness.Advance(absl::Seconds(5));
  absl::StatusOr<TaskEnd> end = harness.Join();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->result, "got 3");
  EXPECT_EQ(harness.output(), "b");  // "a" was emitted before the snapshot
}

TEST(MachineTaskTest, OutputCallbackMayWakeItsOwnTask) {
  ManualClock clock;
  std::unique_ptr<Executor> executor =
      *Executor::Create({.workers = 2, .clock = &clock});
  std::shared_ptr<MachineTask> task;
  task = MachineTask::Create(
      Machine::Start(CompileOrDie(R"({"name": "t", "initial": "A",
        "states": {"A": {"emit": "ping", "await": {"signals": {"pong": "END"}}},
                   "END": {"complete": {}}}})")),
      &executor->timers(), [&task](uint64_t, absl::string_view) {
        EXPECT_TRUE(task->Wake(MakeSignal("pong")).ok());
      });
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor->Spawn(task->MakeFuture());
  ASSERT_TRUE(handle.ok());
  absl::StatusOr<TaskEnd> end = std::move(*handle).Wait();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->status, v1::TASK_STATUS_COMPLETED);
}

TEST(MachineTaskTest, ADetachedFutureRunsWithoutATask) {
  ManualClock clock;
  std::unique_ptr<Executor> executor =
      *Executor::Create({.workers = 2, .clock = &clock});
  std::string output;  // written by the one task, read after it ended
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor->Spawn(MachineFuture::Detached(
          Machine::Start(CompileOrDie(kSleepThenAwait)), &executor->timers(),
          [&output](uint64_t, absl::string_view text) {
            output.append(text.data(), text.size());
          }));
  ASSERT_TRUE(handle.ok());
  while (executor->timers().NumPending() == 0) std::this_thread::yield();
  clock.Advance(absl::Seconds(5));  // the sleep; then the await times out
  while (executor->timers().NumPending() == 0) std::this_thread::yield();
  clock.Advance(absl::Seconds(10));
  absl::StatusOr<TaskEnd> end = std::move(*handle).Wait();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->status, v1::TASK_STATUS_FAILED);
  EXPECT_EQ(end->error, "late");
  EXPECT_EQ(output, "ab");
}

TEST(MachineTaskTest, WakeChecksTheSignal) {
  ExecutorHarness harness;
  harness.Start(kSleepThenAwait);
  absl::StatusOr<WakeReceipt> receipt =
      harness.task().Wake(MakeSignal("go", R"({"bad key": []})"));
  EXPECT_EQ(receipt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(receipt.status().message(),
              HasSubstr("cannot be a variable name"));
}

constexpr absl::string_view kAwaitGo = R"({"name": "t", "initial": "A",
  "states": {"A": {"await": {"signals": {"go": "END"}}},
             "END": {"complete": {"result": "${signal.n}"}}}})";

TEST(MachineTaskTest, AWakeBehindAnUntakenSignalOfItsNameIsBuffered) {
  ManualClock clock;
  std::unique_ptr<Executor> executor =
      *Executor::Create({.workers = 1, .clock = &clock});
  Machine machine = Machine::Start(CompileOrDie(kAwaitGo));
  machine.Poll(clock.Now());  // awaiting "go"
  // Accepted but not yet polled: a restored task can start like this.
  ASSERT_EQ(machine.Deliver(MakeSignal("go", R"({"n": 1})"), clock.Now())
                ->disposition,
            Disposition::kConsumed);
  std::shared_ptr<MachineTask> task =
      MachineTask::Create(std::move(machine), &executor->timers());
  absl::StatusOr<WakeReceipt> second =
      task->Wake(MakeSignal("go", R"({"n": 2})"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->disposition, Disposition::kBuffered);
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor->Spawn(task->MakeFuture());
  ASSERT_TRUE(handle.ok());
  absl::StatusOr<TaskEnd> end = std::move(*handle).Wait();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->result, "1");
}

TEST(MachineTest, SignalsNotYetInTheMailboxAreTakenFirst) {
  Machine machine = Machine::Start(CompileOrDie(kAwaitGo));
  const absl::Time now = absl::UnixEpoch();
  machine.Poll(now);
  auto accepted = [&](absl::string_view name) {
    const v1::Signal signal = MakeSignal(name);
    return Machine::AcceptedSignal{
        signal, 1, now, *Machine::CheckSignal(machine.program(), signal)};
  };
  EXPECT_EQ(machine.SignalDisposition("go", now, {}), Disposition::kConsumed);
  EXPECT_EQ(machine.SignalDisposition("go", now, {accepted("other")}),
            Disposition::kConsumed);
  EXPECT_EQ(machine.SignalDisposition("go", now, {accepted("go")}),
            Disposition::kBuffered);
  EXPECT_EQ(machine.SignalDisposition("other", now, {}),
            Disposition::kBuffered);
}

// Counts what MachineTasks report, as the daemon's metrics do.
class CountingObserver final : public MachineObserver {
 public:
  void OnSelfWake() override { self_wakes_.fetch_add(1); }
  void OnSignalAccepted() override { accepted_.fetch_add(1); }
  void OnHeldSignalsChanged(int64_t delta) override {
    EXPECT_NE(delta, 0);
    held_.fetch_add(delta);
  }
  int self_wakes() const { return self_wakes_.load(); }
  int accepted() const { return accepted_.load(); }
  int64_t held() const { return held_.load(); }

 private:
  std::atomic<int> self_wakes_{0};
  std::atomic<int> accepted_{0};
  std::atomic<int64_t> held_{0};
};

constexpr absl::string_view kTwoAwaits = R"({"name": "t", "initial": "A",
  "states": {
    "A": {"sleep": {"duration": "5s", "next": "B"}},
    "B": {"await": {"signals": {"go": "C"}}},
    "C": {"sleep": {"duration": "5s", "next": "D"}},
    "D": {"await": {"signals": {"go": "END"}}},
    "END": {"complete": {}}}})";

// Waits (bounded) until `task` suspends in `state`.
void WaitForState(MachineTask& task, absl::string_view state) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (task.Snapshot().state() != state ||
         task.status() == v1::TASK_STATUS_READY) {
    ASSERT_LT(absl::Now(), give_up) << "never reached " << state;
    std::this_thread::yield();
  }
}

// Waits (bounded) until `timers` holds `count` queued timers. A task shows
// its sleep before its poll queues the timer, so a test that advances the
// clock as soon as it sees the sleep can find the deadline already due when
// the poll gets to it: a self-wake, not a timer firing.
void WaitForTimers(const TimerDriver& timers, size_t count) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (timers.NumPending() != count) {
    ASSERT_LT(absl::Now(), give_up) << "never had " << count << " timers";
    std::this_thread::yield();
  }
}

TEST(MachineTaskTest, ObserverCountsEachYieldAsASelfWake) {
  CountingObserver observer;
  ManualClock clock;
  std::unique_ptr<Executor> executor =
      *Executor::Create({.workers = 2, .clock = &clock});
  std::shared_ptr<MachineTask> task =
      MachineTask::Create(Machine::Start(CompileOrDie(testing::kHelloJson)),
                          &executor->timers(), {}, &observer);
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor->Spawn(task->MakeFuture());
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(std::move(*handle).Wait().ok());
  EXPECT_EQ(observer.self_wakes(), 2);  // HELLO and WORLD yield
  EXPECT_EQ(observer.accepted(), 0);
  EXPECT_EQ(observer.held(), 0);
}

TEST(MachineTaskTest, ObserverCountsSignalsHeldUntilAnAwaitTakesThem) {
  CountingObserver observer;
  ManualClock clock;
  std::unique_ptr<Executor> executor =
      *Executor::Create({.workers = 2, .clock = &clock});
  std::shared_ptr<MachineTask> task =
      MachineTask::Create(Machine::Start(CompileOrDie(kTwoAwaits)),
                          &executor->timers(), {}, &observer);
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor->Spawn(task->MakeFuture());
  ASSERT_TRUE(handle.ok());
  WaitForState(*task, "A");
  ASSERT_EQ(task->Wake(MakeSignal("go"))->disposition, Disposition::kBuffered);
  ASSERT_EQ(task->Wake(MakeSignal("go"))->disposition, Disposition::kBuffered);
  EXPECT_EQ(observer.accepted(), 2);
  EXPECT_EQ(observer.held(), 2);

  WaitForTimers(executor->timers(), 1);
  clock.Advance(absl::Seconds(5));  // B takes one signal; C sleeps
  WaitForState(*task, "C");
  EXPECT_EQ(observer.held(), 1);
  WaitForTimers(executor->timers(), 1);
  clock.Advance(absl::Seconds(5));  // D takes the other
  ASSERT_TRUE(std::move(*handle).Wait().ok());
  EXPECT_EQ(observer.held(), 0);
  EXPECT_EQ(observer.accepted(), 2);
  EXPECT_EQ(observer.self_wakes(), 0);  // the timers woke it, not itself
}

TEST(MachineTaskTest, ObserverHearsHeldSignalsLeaveWithTheTask) {
  CountingObserver observer;
  ManualClock clock;
  std::unique_ptr<Executor> executor =
      *Executor::Create({.workers = 2, .clock = &clock});
  {
    std::shared_ptr<MachineTask> never_run =
        MachineTask::Create(Machine::Start(CompileOrDie(kTwoAwaits)),
                            &executor->timers(), {}, &observer);
    ASSERT_TRUE(never_run->Wake(MakeSignal("go")).ok());
    EXPECT_EQ(observer.held(), 1);
  }
  EXPECT_EQ(observer.held(), 0);

  std::shared_ptr<MachineTask> cancelled =
      MachineTask::Create(Machine::Start(CompileOrDie(kTwoAwaits)),
                          &executor->timers(), {}, &observer);
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor->Spawn(cancelled->MakeFuture());
  ASSERT_TRUE(handle.ok());
  WaitForState(*cancelled, "A");
  ASSERT_TRUE(cancelled->Wake(MakeSignal("go")).ok());
  EXPECT_EQ(observer.held(), 1);
  handle->Cancel();
  EXPECT_EQ(std::move(*handle).Wait().status().code(),
            absl::StatusCode::kCancelled);
  // The cancelled task keeps its mailbox for its snapshot, but an ended
  // task holds nothing an await could take.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (cancelled->status() != v1::TASK_STATUS_CANCELLED) {
    ASSERT_LT(absl::Now(), give_up);
    std::this_thread::yield();
  }
  EXPECT_EQ(observer.held(), 0);
}

}  // namespace
}  // namespace corosched::machine
