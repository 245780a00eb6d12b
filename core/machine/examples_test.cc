// Runs every definition in examples/ on the executor with a manual clock,
// checking its output and how it ends.

#include <fstream>
#include <sstream>
#include <string>

#include "core/machine/testing/definitions.h"
#include "core/machine/testing/executor_harness.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
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

// Polls `machine` at `now`, appending its output to `*output`; returns what
// the poll left it needing.
PollOutcome::Next PollAt(Machine& machine, absl::Time now,
                         std::string* output) {
  return testing::PollInto(machine, now, output).next;
}

google::protobuf::Value JsonValue(absl::string_view json) {
  google::protobuf::Value value;
  EXPECT_TRUE(
      google::protobuf::util::JsonStringToMessage(std::string(json), &value)
          .ok());
  return value;
}

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(ExamplesTest, WorkerCallbackHandsTheJobToAWorker) {
  Machine machine = testing::StartOrDie(
      testing::CompileOrDie(ReadExample("worker-callback.json")),
      R"({"job": {"string": "j1"}})");
  std::string output;
  ASSERT_EQ(PollAt(machine, kStart, &output), PollOutcome::Next::kWork);
  const WorkOrder order = *machine.work_order();
  EXPECT_EQ(order.queue, "jobs");
  EXPECT_EQ(order.timeout, absl::Seconds(60));
  EXPECT_EQ(order.heartbeat, absl::Seconds(10));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      order.input,
      JsonValue(R"({"job": "j1", "label": "job j1", "priority": 0})")))
      << order.input.DebugString();
  ASSERT_TRUE(machine
                  .CompleteWork(1, JsonValue(R"({"output": "42 rows"})"),
                                kStart + absl::Seconds(3))
                  .ok());
  ASSERT_EQ(PollAt(machine, kStart + absl::Seconds(3), &output),
            PollOutcome::Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(machine.result(), "42 rows");
  EXPECT_EQ(output, "job j1 queued\njob j1 done\n");
}

TEST(ExamplesTest, RetryCatchRetriesTimeoutsThenSucceeds) {
  Machine machine = testing::StartOrDie(
      testing::CompileOrDie(ReadExample("retry-catch.json")),
      R"({"url": {"string": "http://a"}})");
  std::string output;
  absl::Time now = kStart;
  ASSERT_EQ(PollAt(machine, now, &output), PollOutcome::Next::kWork);
  for (uint32_t attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_TRUE(
        machine
            .FailWork(attempt,
                      {attempt == 1 ? "timeout" : "unavailable", "", true}, now)
            .ok());
    // Full jitter: somewhere from 0 to 1s, then to 2s.
    const absl::Time due = machine.deadline().value_or(now);
    EXPECT_LE(due - now, absl::Seconds(attempt == 1 ? 1 : 2));
    now = due;
    ASSERT_EQ(PollAt(machine, now, &output), PollOutcome::Next::kWork);
    EXPECT_EQ(machine.work_order()->attempt, attempt + 1);
  }
  ASSERT_TRUE(
      machine.CompleteWork(3, JsonValue(R"({"body": "<html>"})"), now).ok());
  ASSERT_EQ(PollAt(machine, now, &output), PollOutcome::Next::kEnded);
  EXPECT_EQ(machine.result(), "<html>");
  EXPECT_EQ(output, "fetched http://a\n");
}

TEST(ExamplesTest, RetryCatchFallsBackWhenTheErrorIsNotRetried) {
  Machine machine = testing::StartOrDie(
      testing::CompileOrDie(ReadExample("retry-catch.json")),
      R"({"url": {"string": "http://b"}})");
  std::string output;
  ASSERT_EQ(PollAt(machine, kStart, &output), PollOutcome::Next::kWork);
  ASSERT_TRUE(
      machine.FailWork(1, {"not_found", "404 for http://b", true}, kStart)
          .ok());
  ASSERT_EQ(PollAt(machine, kStart, &output), PollOutcome::Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(machine.result(), "cached http://b");
  EXPECT_EQ(output,
            "fetch failed (not_found: 404 for http://b); using the cache\n");
}

TEST(ExamplesTest, RetryCatchGivesUpAfterAnHour) {
  Machine machine = testing::StartOrDie(
      testing::CompileOrDie(ReadExample("retry-catch.json")),
      R"({"url": {"string": "http://c"}})");
  ASSERT_EQ(machine.Poll(kStart).next, PollOutcome::Next::kWork);
  EXPECT_EQ(machine.Poll(kStart + absl::Hours(1)).next,
            PollOutcome::Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_EQ(machine.error(),
            "timeout: the task's timeout of 1h passed (in state FETCH)");
}

}  // namespace
}  // namespace corosched::machine
