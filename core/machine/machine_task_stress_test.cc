// Wakes delivered from several threads while the executor polls the task,
// and snapshots taken meanwhile: every accepted wake is consumed exactly once
// or is still in the mailbox, none is lost and none is counted twice. The
// same for work answers racing each other, polls, snapshots and a cancel.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "core/executor.h"
#include "core/machine/machine_task.h"
#include "core/machine/testing/definitions.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using testing::MakeSignal;
using Disposition = WakeReceipt::Disposition;

constexpr int kThreads = 4;
constexpr int kWakesPerThread = 5000;

// Counts "ping"s until "stop"; COUNT sometimes yields, sometimes goes
// straight back to the await in the same poll.
constexpr absl::string_view kCounter = R"({"name": "counter", "initial": "LOOP",
  "states": {
    "LOOP": {"await": {"signals": {"ping": "COUNT", "stop": "END"}}},
    "COUNT": {"actions": [{"add": {"variable": "n", "amount": 1}}],
              "choice": {"when": [{"variable": "signal.yield", "equals": {"bool": true},
                                   "next": "YIELD"}],
                         "otherwise": "LOOP"}},
    "YIELD": {"yield": {"next": "LOOP"}},
    "END": {"complete": {"result": "${n}"}}}})";

struct Counts {
  std::atomic<int> consumed{0};
  std::atomic<int> buffered{0};
  std::atomic<int> refused{0};
  std::atomic<int> mailbox_full{0};
};

void SendPings(MachineTask& task, int thread, Counts* counts) {
  for (int i = 0; i < kWakesPerThread; ++i) {
    const bool yield = (i + thread) % 3 == 0;
    absl::StatusOr<WakeReceipt> receipt = task.Wake(MakeSignal(
        "ping", yield ? R"({"yield": true})" : R"({"yield": false})"));
    if (!receipt.ok()) {
      ASSERT_EQ(receipt.status().code(), absl::StatusCode::kResourceExhausted);
      counts->mailbox_full.fetch_add(1);
      std::this_thread::yield();  // let the task drain its mailbox
      continue;
    }
    switch (receipt->disposition) {
      case Disposition::kConsumed:
        counts->consumed.fetch_add(1);
        break;
      case Disposition::kBuffered:
        counts->buffered.fetch_add(1);
        break;
      case Disposition::kRefusedEnded:
        counts->refused.fetch_add(1);
        break;
    }
  }
}

TEST(MachineTaskStressTest, ConcurrentWakesAreNeitherLostNorDuplicated) {
  MachineLimits limits;
  limits.max_mailbox_signals = 64;  // small, so the full-mailbox path runs
  std::unique_ptr<Executor> executor = *Executor::Create({.workers = 2});
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"].set_number(0);
  absl::StatusOr<SpawnedMachine> spawned = SpawnMachine(
      *executor, *Machine::Start(CompileOrDie(kCounter, limits), inputs));
  ASSERT_TRUE(spawned.ok());
  Counts counts;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { SendPings(*spawned->task, t, &counts); });
  }
  for (std::thread& thread : threads) thread.join();
  // Every ping was accepted before "stop", and the await takes signals in
  // arrival order, so the task counts each accepted ping before it stops.
  absl::StatusOr<WakeReceipt> stop = spawned->task->Wake(MakeSignal("stop"));
  while (!stop.ok()) {  // mailbox full: wait for the task to drain it
    std::this_thread::yield();
    stop = spawned->task->Wake(MakeSignal("stop"));
  }
  absl::StatusOr<TaskEnd> end = std::move(spawned->handle).Wait();
  ASSERT_TRUE(end.ok()) << end.status();
  ASSERT_EQ(end->status, v1::TASK_STATUS_COMPLETED) << end->error;

  const int accepted = counts.consumed + counts.buffered;
  EXPECT_EQ(counts.refused, 0);
  EXPECT_EQ(accepted + counts.mailbox_full, kThreads * kWakesPerThread);
  int counted = 0;
  ASSERT_TRUE(absl::SimpleAtoi(end->result, &counted)) << end->result;
  EXPECT_EQ(counted, accepted);
  const v1::TaskSnapshot last = spawned->task->Snapshot();
  EXPECT_EQ(last.mailbox_size(), 0);
  EXPECT_EQ(last.signal_sequence(), static_cast<uint64_t>(accepted) + 1);
  // Both receipts occurred: the test exercised the race it is about.
  EXPECT_GT(counts.consumed, 0);
  EXPECT_GT(counts.buffered, 0);
}

// Each entry into WORK is answered by whichever thread gets there first: a
// completion counts in `ok`, a failure (not retryable, so caught) in
// `failed`. Every accepted answer moves the task on exactly once.
constexpr absl::string_view kWorkLoop = R"({"name": "loop", "initial": "WORK",
  "states": {
    "WORK": {"work": {"queue": "q", "timeout": "10s", "input": "${ok}",
                      "resultVariable": "r", "next": "OK"},
             "catch": [{"errors": ["*"], "next": "FAILED"}]},
    "OK": {"actions": [{"add": {"variable": "ok", "amount": 1}}],
           "yield": {"next": "CHECK"}},
    "FAILED": {"actions": [{"add": {"variable": "failed", "amount": 1}}],
               "yield": {"next": "CHECK"}},
    "CHECK": {"choice": {"when": [{"variable": "ok", "greaterOrEqual":
                                   {"number": 1500}, "next": "END"}],
                         "otherwise": "WORK"}},
    "END": {"complete": {"result": "${ok} ${failed}"}}}})";

struct AnswerCounts {
  std::atomic<int> completed{0};
  std::atomic<int> failed{0};
};

void Answer(MachineTask& task, int thread, AnswerCounts* counts) {
  for (int i = 0; !IsEnded(task.status()); ++i) {
    const uint32_t attempt = i % 7 == 0 ? 2 : 1;  // 2 is always refused
    google::protobuf::Value result;
    result.set_number_value(i);
    const bool fail = (i + thread) % 5 == 0;
    const absl::Status answered =
        fail ? task.FailWork(attempt, {"boom", "", false})
             : task.CompleteWork(attempt, std::move(result));
    if (answered.ok()) {
      ASSERT_EQ(attempt, 1u);
      (fail ? counts->failed : counts->completed).fetch_add(1);
    } else {
      ASSERT_EQ(answered.code(), absl::StatusCode::kFailedPrecondition)
          << answered;
    }
    if (i % 64 == 0) task.Snapshot();  // meets the polls under mu_ too
    std::this_thread::yield();
  }
}

// Runs kWorkLoop with answering threads; cancels it after `cancel_after`
// completions (0: never). Returns the counts and the task's end.
TaskEnd RunWorkLoop(int cancel_after, AnswerCounts* counts,
                    v1::TaskSnapshot* last) {
  std::unique_ptr<Executor> executor = *Executor::Create({.workers = 2});
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["ok"].set_number(0);
  inputs["failed"].set_number(0);
  absl::StatusOr<SpawnedMachine> spawned =
      SpawnMachine(*executor, *Machine::Start(CompileOrDie(kWorkLoop), inputs),
                   {}, [](WorkOrder) {});  // answered by polling threads
  EXPECT_TRUE(spawned.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { Answer(*spawned->task, t, counts); });
  }
  if (cancel_after > 0) {
    while (counts->completed < cancel_after) std::this_thread::yield();
    spawned->handle.Cancel();
  }
  absl::StatusOr<TaskEnd> end = std::move(spawned->handle).Wait();
  for (std::thread& thread : threads) thread.join();
  *last = spawned->task->Snapshot();
  return end.ok() ? *end : TaskEnd{v1::TASK_STATUS_CANCELLED, "", ""};
}

double Variable(const v1::TaskSnapshot& snapshot, const std::string& name) {
  return snapshot.variables().at(name).number();
}

TEST(MachineTaskStressTest, EveryAcceptedAnswerIsAppliedExactlyOnce) {
  AnswerCounts counts;
  v1::TaskSnapshot last;
  const TaskEnd end = RunWorkLoop(0, &counts, &last);
  ASSERT_EQ(end.status, v1::TASK_STATUS_COMPLETED) << end.error;
  EXPECT_EQ(Variable(last, "ok"), counts.completed);
  EXPECT_EQ(Variable(last, "failed"), counts.failed);
  EXPECT_GT(counts.failed, 0);
}

TEST(MachineTaskStressTest, ACancelDropsAtMostTheAnswerItRaced) {
  AnswerCounts counts;
  v1::TaskSnapshot last;
  const TaskEnd end = RunWorkLoop(300, &counts, &last);
  EXPECT_EQ(last.status(), v1::TASK_STATUS_CANCELLED);
  // Answers accepted before the cancel were applied, but for at most one
  // that was still waiting for its poll; none after it was accepted.
  const int applied = static_cast<int>(Variable(last, "ok")) +
                      static_cast<int>(Variable(last, "failed"));
  const int accepted = counts.completed + counts.failed;
  EXPECT_GE(applied, accepted - 1);
  EXPECT_LE(applied, accepted);
  EXPECT_NE(end.status, v1::TASK_STATUS_COMPLETED);
}

}  // namespace
}  // namespace corosched::machine
