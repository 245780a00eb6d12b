#include <string>
#include <vector>

#include "core/machine/machine.h"
#include "core/machine/proto_time.h"
#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using ::testing::HasSubstr;
using testing::StartOrDie;
using Next = PollOutcome::Next;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

google::protobuf::Value Json(absl::string_view text) {
  google::protobuf::Value value;
  EXPECT_TRUE(
      google::protobuf::util::JsonStringToMessage(std::string(text), &value)
          .ok())
      << text;
  return value;
}

std::string ToJson(const google::protobuf::Value& value) {
  std::string text;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(value, &text).ok());
  return text;
}

// FETCH works on queue "jobs"; retry and catch as `extra` says.
std::shared_ptr<const Program> Fetcher(absl::string_view extra = "") {
  return CompileOrDie(absl::StrCat(
      R"({"name": "fetch", "initial": "FETCH", "states": {
        "FETCH": {"emit": "go ", "work": {"queue": "jobs",
           "input": {"url": "${url}", "opts": "${opts}", "text": "n=${n}"},
           "timeout": "30s", "heartbeat": "10s", "scheduleTimeout": "60s",
           "resultVariable": "job", "next": "DONE"})",
      extra.empty() ? "" : ", ", extra, R"(},
        "DONE": {"complete": {"result": "${job.size}"}},
        "FALLBACK": {"complete": {"result": "caught ${why.error}: ${why.message}"}}}})"));
}

constexpr absl::string_view kInputs =
    R"({"url": {"string": "http://x"}, "opts": {"json": {"deep": [1, true]}},
        "n": {"number": 3}})";

TEST(MachineWorkTest, EnteringAWorkStatePutsAttemptOneOut) {
  Machine machine = StartOrDie(Fetcher(), kInputs);
  std::string output;
  const PollOutcome outcome = testing::PollInto(machine, kStart, &output);
  EXPECT_EQ(outcome.next, Next::kWork);
  EXPECT_EQ(outcome.steps, 1);
  EXPECT_FALSE(outcome.deadline.has_value());
  EXPECT_EQ(output, "go ");
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_WORKING);
  const std::optional<WorkOrder> order = machine.work_order();
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->queue, "jobs");
  EXPECT_EQ(order->attempt, 1u);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      order->input, Json(R"({"url": "http://x", "opts": {"deep": [1, true]},
                             "text": "n=3"})")))
      << ToJson(order->input);
  EXPECT_EQ(order->timeout, absl::Seconds(30));
  EXPECT_EQ(order->heartbeat, absl::Seconds(10));
  EXPECT_EQ(order->schedule_timeout, absl::Minutes(1));
  EXPECT_EQ(order->scheduled_at, kStart);
  ASSERT_NE(machine.work(), nullptr);
  EXPECT_EQ(machine.work()->attempt(), 1u);
  EXPECT_EQ(machine.work()->queue(), "jobs");
}

TEST(MachineWorkTest, AnInputVariableNotSetFailsTheTask) {
  Machine machine =
      StartOrDie(Fetcher(), R"({"url": {"string": "u"}, "n": {"number": 1}})");
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_THAT(machine.error(),
              HasSubstr("states[\"FETCH\"].work.input: variable \"opts\""));
}

TEST(MachineWorkTest, PollingAWorkingTaskChangesNothing) {
  Machine machine = StartOrDie(Fetcher(), kInputs);
  machine.Poll(kStart);
  const v1::TaskSnapshot before = machine.Snapshot();
  const PollOutcome outcome = machine.Poll(kStart + absl::Hours(5));
  EXPECT_EQ(outcome.next, Next::kWait);
  EXPECT_EQ(outcome.steps, 0);
  EXPECT_FALSE(outcome.deadline.has_value());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      before, machine.Snapshot()));
}

TEST(MachineWorkTest, CompletedWorkLandsItsResultAndGoesOn) {
  Machine machine = StartOrDie(Fetcher(), kInputs);
  machine.Poll(kStart);
  ASSERT_TRUE(machine.CompleteWork(1, Json(R"({"size": 42})"), kStart).ok());
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_READY);
  EXPECT_EQ(machine.state_name(), "DONE");
  EXPECT_EQ(machine.work(), nullptr);
  EXPECT_FALSE(machine.work_order().has_value());
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(machine.result(), "42");
}

TEST(MachineWorkTest, AnswersForAnotherAttemptOrStatusChangeNothing) {
  Machine machine = StartOrDie(Fetcher(), kInputs);
  EXPECT_EQ(machine.CompleteWork(1, Json("1"), kStart).code(),
            absl::StatusCode::kFailedPrecondition);  // READY, not working
  machine.Poll(kStart);
  const v1::TaskSnapshot before = machine.Snapshot();
  EXPECT_EQ(machine.CompleteWork(2, Json("1"), kStart).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(machine.FailWork(0, {"boom", "", true}, kStart).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      before, machine.Snapshot()));
  ASSERT_TRUE(machine.CompleteWork(1, Json(R"({"size": 1})"), kStart).ok());
  EXPECT_EQ(machine.CompleteWork(1, Json("1"), kStart).code(),
            absl::StatusCode::kFailedPrecondition);  // answered already
}

TEST(MachineWorkTest, ResultsBreakingTheValueLimitsAreRefused) {
  MachineLimits limits;
  limits.max_value_bytes = 16;
  limits.max_variables_bytes = 25;
  auto program = CompileOrDie(
      R"({"name": "t", "initial": "S", "states": {
        "S": {"actions": [{"set": {"variable": "pad",
                                   "value": {"string": "0123456789"}}}],
              "work": {"queue": "q", "timeout": "1s", "resultVariable": "r",
                       "next": "END"}},
        "END": {"complete": {}}}})",
      limits);
  Machine machine = Machine::Start(program);
  machine.Poll(kStart);
  google::protobuf::Value nan;
  nan.set_number_value(std::nan(""));
  EXPECT_EQ(machine.CompleteWork(1, nan, kStart).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      machine.CompleteWork(1, Json(R"("12345678901234567")"), kStart).code(),
      absl::StatusCode::kInvalidArgument);  // over max_value_bytes
  // 15 bytes fit one value, but not the variables budget beside "pad".
  EXPECT_EQ(
      machine.CompleteWork(1, Json(R"("123456789012345")"), kStart).code(),
      absl::StatusCode::kInvalidArgument);
  std::string deep = "1";
  for (int i = 0; i < 33; ++i) deep = absl::StrCat("[", deep, "]");
  EXPECT_EQ(machine.CompleteWork(1, Json(deep), kStart).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_WORKING);
  EXPECT_TRUE(machine.CompleteWork(1, Json(R"("1")"), kStart).ok());
}

TEST(MachineWorkTest, RetriesWaitTheBackoffCappedAtMaxInterval) {
  Machine machine =
      StartOrDie(Fetcher(R"("retry": [{"errors": ["timeout"], "maxAttempts": 6,
                            "interval": "1s", "backoffRate": 3,
                            "maxInterval": "20s"}])"),
                 kInputs);
  absl::Time now = kStart;
  machine.Poll(now);
  std::vector<absl::Duration> waits;
  for (uint32_t attempt = 1; attempt < 6; ++attempt) {
    ASSERT_EQ(machine.work_order()->attempt, attempt);
    ASSERT_TRUE(machine.FailWork(attempt, {"timeout", "slow", true}, now).ok());
    EXPECT_EQ(machine.status(), v1::TASK_STATUS_SLEEPING);
    EXPECT_EQ(machine.work()->last_error(), "timeout");
    EXPECT_EQ(machine.work()->last_message(), "slow");
    EXPECT_FALSE(machine.work()->has_scheduled_at());
    EXPECT_FALSE(machine.work_order().has_value());
    const absl::Time due = *machine.deadline();
    waits.push_back(due - now);
    // Just before: still waiting, until exactly then.
    const PollOutcome early = machine.Poll(due - absl::Nanoseconds(1));
    EXPECT_EQ(early.next, Next::kWait);
    EXPECT_EQ(early.deadline, due);
    now = due;
    const PollOutcome outcome = machine.Poll(now);
    EXPECT_EQ(outcome.next, Next::kWork);
    EXPECT_EQ(machine.work_order()->scheduled_at, now);
  }
  EXPECT_THAT(waits, ::testing::ElementsAre(absl::Seconds(1), absl::Seconds(3),
                                            absl::Seconds(9), absl::Seconds(20),
                                            absl::Seconds(20)));
  ASSERT_TRUE(machine.FailWork(6, {"timeout", "slow", true}, now).ok());
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_EQ(machine.error(),
            "states[\"FETCH\"]: work failed after 6 attempts: timeout: slow");
}

TEST(MachineWorkTest, AZeroIntervalRetriesAtTheNextPoll) {
  Machine machine = StartOrDie(
      Fetcher(R"("retry": [{"errors": ["*"], "interval": "0s"}])"), kInputs);
  machine.Poll(kStart);
  ASSERT_TRUE(machine.FailWork(1, {"boom", "", true}, kStart).ok());
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_READY);
  EXPECT_EQ(machine.work()->attempt(), 1u);
  const PollOutcome outcome = machine.Poll(kStart);
  EXPECT_EQ(outcome.next, Next::kWork);
  EXPECT_EQ(outcome.steps, 0);
  EXPECT_EQ(machine.work_order()->attempt, 2u);
  EXPECT_EQ(machine.work_order()
                ->input.struct_value()
                .fields()
                .at("text")
                .string_value(),
            "n=3");
}

// The back-off waits of a task seeded `seed`, over attempts 1..4.
std::vector<absl::Duration> JitteredWaits(uint64_t seed) {
  auto program = Fetcher(R"("retry": [{"errors": ["*"], "maxAttempts": 5,
      "interval": "10s", "backoffRate": 2, "jitter": "JITTER_FULL"}])");
  v1::TaskSnapshot holder;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  absl::StrCat(R"({"variables": )", kInputs, "}"), &holder)
                  .ok());
  Machine machine =
      *Machine::Start(program, holder.variables(), StartOptions{seed});
  EXPECT_EQ(machine.random_seed(), seed);
  absl::Time now = kStart;
  machine.Poll(now);
  std::vector<absl::Duration> waits;
  for (uint32_t attempt = 1; attempt <= 4; ++attempt) {
    EXPECT_TRUE(machine.FailWork(attempt, {"x", "", true}, now).ok());
    if (machine.status() == v1::TASK_STATUS_READY) {
      waits.push_back(absl::ZeroDuration());
    } else {
      waits.push_back(*machine.deadline() - now);
      now = *machine.deadline();
    }
    EXPECT_EQ(machine.Poll(now).next, Next::kWork);
  }
  return waits;
}

TEST(MachineWorkTest, FullJitterIsDeterministicAndWithinTheWait) {
  const std::vector<absl::Duration> first = JitteredWaits(7);
  EXPECT_EQ(first, JitteredWaits(7));
  EXPECT_NE(first, JitteredWaits(8));
  absl::Duration cap = absl::Seconds(10);
  for (absl::Duration wait : first) {
    EXPECT_GE(wait, absl::ZeroDuration());
    EXPECT_LE(wait, cap);
    cap *= 2;
  }
  // Over many seeds the draws spread over the range, not at one end.
  absl::Duration low = absl::InfiniteDuration(), high = absl::ZeroDuration();
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const absl::Duration wait = JitteredWaits(seed)[0];
    low = std::min(low, wait);
    high = std::max(high, wait);
  }
  EXPECT_LT(low, absl::Seconds(2));
  EXPECT_GT(high, absl::Seconds(8));
}

TEST(MachineWorkTest, CatchersTakeWhatRetriesDoNot) {
  const std::string extra =
      R"("retry": [{"errors": ["timeout"], "maxAttempts": 2, "interval": "0s"},
                   {"errors": ["*"], "maxAttempts": 9}],
         "catch": [{"errors": ["nope"], "next": "DONE"},
                   {"errors": ["*"], "next": "FALLBACK",
                    "errorVariable": "why"}])";
  // Not retryable: straight to the catcher, whatever the rules say.
  Machine fatal = StartOrDie(Fetcher(extra), kInputs);
  fatal.Poll(kStart);
  ASSERT_TRUE(fatal.FailWork(1, {"bad_input", "no url", false}, kStart).ok());
  EXPECT_EQ(fatal.state_name(), "FALLBACK");
  EXPECT_EQ(fatal.work(), nullptr);
  ASSERT_EQ(fatal.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(fatal.result(), "caught bad_input: no url");
  const Value& why = fatal.variables().at("why");
  ASSERT_TRUE(std::holds_alternative<StructuredValue>(why));
  std::string shown;
  AppendValue(why, &shown);
  EXPECT_EQ(shown, R"({"error":"bad_input","message":"no url"})");

  // "timeout" matches the first rule, which decides alone: after its 2
  // attempts the "*" rule's 9 do not apply.
  Machine spent = StartOrDie(Fetcher(extra), kInputs);
  spent.Poll(kStart);
  ASSERT_TRUE(spent.FailWork(1, {"timeout", "t1", true}, kStart).ok());
  ASSERT_EQ(spent.Poll(kStart).next, Next::kWork);
  ASSERT_TRUE(spent.FailWork(2, {"timeout", "t2", true}, kStart).ok());
  EXPECT_EQ(spent.state_name(), "FALLBACK");
  ASSERT_EQ(spent.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(spent.result(), "caught timeout: t2");
}

TEST(MachineWorkTest, WithoutACatcherTheTaskFailsSayingWhy) {
  Machine machine = StartOrDie(
      Fetcher(R"("catch": [{"errors": ["other"], "next": "DONE"}])"), kInputs);
  machine.Poll(kStart);
  ASSERT_TRUE(
      machine.FailWork(1, {"heartbeat_timeout", "", true}, kStart).ok());
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_EQ(
      machine.error(),
      "states[\"FETCH\"]: work failed after 1 attempt: heartbeat_timeout");
  EXPECT_EQ(machine.work(), nullptr);
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
}

TEST(MachineWorkTest, CancellingAWorkingTaskEndsIt) {
  Machine machine = StartOrDie(Fetcher(), kInputs);
  machine.Poll(kStart);
  machine.Cancel("stop");
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_CANCELLED);
  EXPECT_EQ(machine.work(), nullptr);
  EXPECT_FALSE(machine.work_order().has_value());
  EXPECT_EQ(machine.CompleteWork(1, Json("1"), kStart).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace corosched::machine
