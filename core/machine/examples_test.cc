// Runs every definition in examples/ on the executor with a manual clock,
// checking its output and how it ends.

#include <fstream>
#include <sstream>
#include <string>

#include "core/machine/testing/definitions.h"
#include "core/machine/testing/executor_harness.h"
#include "gtest/gtest.h"

#ifndef COROSCHED_EXAMPLES_DIR
#error "COROSCHED_EXAMPLES_DIR must name the examples/ folder"
#endif

namespace corosched::machine {
namespace {

using testing::ExecutorHarness;
using Disposition = WakeReceipt::Disposition;
constexpr auto kSleeping = v1::TASK_STATUS_SLEEPING;
constexpr auto kAwaiting = v1::TASK_STATUS_AWAITING;

std::string ReadExample(absl::string_view file) {
  std::ifstream in(absl::StrCat(COROSCHED_EXAMPLES_DIR, "/", file));
  EXPECT_TRUE(in.good()) << file;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

google::protobuf::Map<std::string, v1::Value> Strings(
    std::initializer_list<std::pair<std::string, std::string>> values) {
  google::protobuf::Map<std::string, v1::Value> inputs;
  for (const auto& [name, value] : values) inputs[name].set_string(value);
  return inputs;
}

TaskEnd JoinOrDie(ExecutorHarness& harness) {
  absl::StatusOr<TaskEnd> end = harness.Join();
  EXPECT_TRUE(end.ok()) << end.status();
  return end.ok() ? *end : TaskEnd{};
}

TEST(ExamplesTest, HelloIsTheSeedExampleExactly) {
  const std::string json = ReadExample("hello.json");
  EXPECT_EQ(json, absl::StrCat(testing::kHelloJson, "\n"));
  ExecutorHarness harness;
  harness.Start(json);
  EXPECT_EQ(JoinOrDie(harness).status, v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(harness.output(), "Hello, World!\n");
}

TEST(ExamplesTest, ApprovalApproved) {
  ExecutorHarness harness;
  harness.Start(ReadExample("approval.json"),
                Strings({{"item", "laptop"}, {"manager", "bo"}}));
  harness.WaitFor(kAwaiting, "REQUEST", 1);
  EXPECT_EQ(harness.Wake("approve", R"({"by": "ana"})"),
            Disposition::kConsumed);
  TaskEnd end = JoinOrDie(harness);
  EXPECT_EQ(end.status, v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(end.result, "approved by ana");
  EXPECT_EQ(harness.output(),
            "approval requested for laptop\nlaptop approved by ana\n");
}

TEST(ExamplesTest, ApprovalEscalatesThenIsRejected) {
  ExecutorHarness harness;
  harness.Start(ReadExample("approval.json"),
                Strings({{"item", "laptop"}, {"manager", "bo"}}));
  harness.WaitFor(kAwaiting, "REQUEST", 1);
  harness.Advance(absl::Minutes(59));
  EXPECT_EQ(harness.task().Snapshot().state(), "REQUEST");
  harness.Advance(absl::Minutes(1));
  harness.WaitFor(kAwaiting, "ESCALATE", 2);
  EXPECT_EQ(harness.Wake("reject"), Disposition::kConsumed);
  TaskEnd end = JoinOrDie(harness);
  EXPECT_EQ(end.status, v1::TASK_STATUS_FAILED);
  EXPECT_EQ(end.error, "rejected by someone");
  EXPECT_EQ(harness.output(),
            "approval requested for laptop\n"
            "no answer for 1h: escalated to bo\n"
            "laptop rejected by someone\n");
}

TEST(ExamplesTest, ApprovalRequiresItsItem) {
  absl::StatusOr<Machine> machine =
      Machine::Start(testing::CompileOrDie(ReadExample("approval.json")),
                     Strings({{"manager", "bo"}}));
  EXPECT_EQ(machine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(machine.status().message(),
            "input \"item\" is required by approval@1: \"what to approve\", "
            "a string value; give it among the task's inputs");
}

TEST(ExamplesTest, ApprovalEscalatesToTheDefaultManager) {
  ExecutorHarness harness;
  harness.Start(ReadExample("approval.json"), Strings({{"item", "laptop"}}));
  harness.WaitFor(kAwaiting, "REQUEST", 1);
  harness.Advance(absl::Hours(1));
  harness.WaitFor(kAwaiting, "ESCALATE", 2);
  EXPECT_EQ(harness.output(),
            "approval requested for laptop\n"
            "no answer for 1h: escalated to on-call-manager\n");
  EXPECT_EQ(harness.Wake("approve"), Disposition::kConsumed);
  EXPECT_EQ(JoinOrDie(harness).status, v1::TASK_STATUS_COMPLETED);
}

TEST(ExamplesTest, ApprovalExpiresAfterADay) {
  ExecutorHarness harness;
  harness.Start(ReadExample("approval.json"),
                Strings({{"item", "laptop"}, {"manager", "bo"}}));
  harness.WaitFor(kAwaiting, "REQUEST", 1);
  harness.Advance(absl::Hours(1));
  harness.WaitFor(kAwaiting, "ESCALATE", 2);
  harness.Advance(absl::Hours(23));
  TaskEnd end = JoinOrDie(harness);
  EXPECT_EQ(end.status, v1::TASK_STATUS_FAILED);
  EXPECT_EQ(end.error, "nobody answered within a day");
  EXPECT_EQ(harness.Wake("approve"), Disposition::kRefusedEnded);
}

TEST(ExamplesTest, CountdownTicksOncePerSecond) {
  ExecutorHarness harness;
  harness.Start(ReadExample("countdown.json"));
  for (uint64_t tick = 1; tick <= 3; ++tick) {
    harness.WaitFor(kSleeping, "TICK", tick);
    harness.Advance(absl::Milliseconds(999));
    EXPECT_EQ(harness.task().Snapshot().output_sequence(), tick);
    harness.Advance(absl::Milliseconds(1));
  }
  TaskEnd end = JoinOrDie(harness);
  EXPECT_EQ(end.status, v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(end.result, "launched");
  EXPECT_EQ(harness.output(), "3...\n2...\n1...\nliftoff!\n");
  EXPECT_EQ(harness.task().Snapshot().variables().at("n").number(), 0);
}

TEST(ExamplesTest, CountdownStartsFromItsInput) {
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"].set_number(1);
  ExecutorHarness harness;
  harness.Start(ReadExample("countdown.json"), inputs);
  harness.WaitFor(kSleeping, "TICK", 1);
  harness.Advance(absl::Seconds(1));
  EXPECT_EQ(JoinOrDie(harness).result, "launched");
  EXPECT_EQ(harness.output(), "1...\nliftoff!\n");
}

TEST(ExamplesTest, WorkerCallbackRetriesWithBackOffThenSucceeds) {
  ExecutorHarness harness;
  harness.Start(ReadExample("worker-callback.json"), Strings({{"job", "j1"}}));
  harness.WaitFor(kAwaiting, "SUBMIT", 1);
  EXPECT_EQ(harness.Wake("failed", R"({"reason": "disk full"})"),
            Disposition::kConsumed);
  harness.WaitFor(kSleeping, "BACKOFF_1S", 2);
  harness.Advance(absl::Seconds(1));
  harness.WaitFor(kAwaiting, "SUBMIT", 3);
  harness.Advance(absl::Seconds(30));  // the worker never answers
  harness.WaitFor(kSleeping, "BACKOFF_2S", 4);
  harness.Advance(absl::Milliseconds(1999));
  EXPECT_EQ(harness.task().Snapshot().state(), "BACKOFF_2S");
  harness.Advance(absl::Milliseconds(1));
  harness.WaitFor(kAwaiting, "SUBMIT", 5);
  EXPECT_EQ(harness.Wake("done", R"({"output": "42 rows"})"),
            Disposition::kConsumed);
  TaskEnd end = JoinOrDie(harness);
  EXPECT_EQ(end.status, v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(end.result, "42 rows");
  EXPECT_EQ(harness.output(),
            "attempt 1: job j1 sent to a worker\n"
            "attempt 1 failed: disk full\n"
            "attempt 2: job j1 sent to a worker\n"
            "attempt 2 timed out\n"
            "attempt 3: job j1 sent to a worker\n"
            "job j1 done after 3 attempt(s)\n");
}

TEST(ExamplesTest, WorkerCallbackGivesUpAfterThreeFailures) {
  ExecutorHarness harness;
  harness.Start(ReadExample("worker-callback.json"), Strings({{"job", "j2"}}));
  harness.WaitFor(kAwaiting, "SUBMIT", 1);
  // Failures reported early wait in the mailbox for the next attempt.
  EXPECT_EQ(harness.Wake("failed"), Disposition::kConsumed);
  EXPECT_EQ(harness.Wake("failed"), Disposition::kBuffered);
  harness.WaitFor(kSleeping, "BACKOFF_1S", 2);
  harness.Advance(absl::Seconds(1));
  harness.WaitFor(kSleeping, "BACKOFF_2S", 4);
  EXPECT_EQ(harness.Wake("failed"), Disposition::kBuffered);
  harness.Advance(absl::Seconds(2));
  TaskEnd end = JoinOrDie(harness);
  EXPECT_EQ(end.status, v1::TASK_STATUS_FAILED);
  EXPECT_EQ(end.error, "job j2 failed after 3 attempts");
  EXPECT_EQ(harness.output(),
            "attempt 1: job j2 sent to a worker\n"
            "attempt 1 failed\n"
            "attempt 2: job j2 sent to a worker\n"
            "attempt 2 failed\n"
            "attempt 3: job j2 sent to a worker\n"
            "attempt 3 failed\n");
}

}  // namespace
}  // namespace corosched::machine
