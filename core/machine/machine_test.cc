#include "core/machine/machine.h"

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using ::testing::HasSubstr;
using testing::MakeSignal;
using testing::PollInto;
using testing::StartOrDie;
using testing::WithState;
using Next = PollOutcome::Next;
using Disposition = WakeReceipt::Disposition;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(MachineTest, RunsTheSeedExampleOneStatePerPoll) {
  Machine machine = StartOrDie(CompileOrDie(testing::kHelloJson));
  std::string output;
  EXPECT_EQ(PollInto(machine, kStart, &output).next, Next::kRunAgain);
  EXPECT_EQ(output, "Hello, ");
  EXPECT_EQ(machine.state_name(), "WORLD");
  EXPECT_EQ(PollInto(machine, kStart, &output).next, Next::kRunAgain);
  EXPECT_EQ(output, "Hello, World!\n");
  PollOutcome last = PollInto(machine, kStart, &output);
  EXPECT_EQ(last.next, Next::kEnded);
  EXPECT_EQ(last.steps, 1);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(machine.output_sequence(), 2);
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);  // stays ended
}

TEST(MachineTest, EmitSubstitutesVariablesAndNumbersEachChunk) {
  Machine machine = StartOrDie(
      WithState(R"({"emit": "a=${a} ", "actions": [{"emit":
        "n=${n} x=${x} b=${b} $$5 $x ${a}${a}"}], "yield": {"next": "END"}})"),
      R"({"a": {"string": "hi"}, "n": {"number": 3}, "x": {"number": 0.1},
          "b": {"bool": false}})");
  std::vector<std::pair<uint64_t, std::string>> chunks;
  machine.Poll(kStart, [&](uint64_t sequence, absl::string_view text) {
    chunks.emplace_back(sequence, std::string(text));
  });
  EXPECT_THAT(chunks, ::testing::ElementsAre(
                          std::make_pair(1, "a=hi "),
                          std::make_pair(2, "n=3 x=0.1 b=false $5 $x hihi")));
}

TEST(MachineTest, EmitOfAnUnsetVariableFailsTheTaskWithItsPath) {
  Machine machine = StartOrDie(WithState(
      R"({"actions": [{"emit": "hi ${who}"}], "yield": {"next": "END"}})"));
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_THAT(machine.error(),
              HasSubstr("states[\"S\"].actions[0].emit: variable \"who\" is "
                        "not set"));
}

TEST(MachineTest, SetsCopiesAndAddsVariables) {
  Machine machine = StartOrDie(WithState(R"({"actions": [
      {"set": {"variable": "n", "value": {"number": 1.5}}},
      {"add": {"variable": "n", "amount": 2}},
      {"set": {"variable": "m", "copyOf": "n"}},
      {"add": {"variable": "m", "amount": -10}},
      {"set": {"variable": "s", "value": {"string": "x"}}},
      {"set": {"variable": "b", "value": {"bool": true}}}],
      "yield": {"next": "END"}})"));
  machine.Poll(kStart);
  EXPECT_EQ(machine.variables().at("n"), Value(3.5));
  EXPECT_EQ(machine.variables().at("m"), Value(-6.5));
  EXPECT_EQ(machine.variables().at("s"), Value(std::string("x")));
  EXPECT_EQ(machine.variables().at("b"), Value(true));
}

TEST(MachineTest, AddNeedsANumber) {
  Machine unset = StartOrDie(WithState(
      R"({"actions": [{"add": {"variable": "n", "amount": 1}}],
          "yield": {"next": "END"}})"));
  unset.Poll(kStart);
  EXPECT_THAT(unset.error(), HasSubstr("states[\"S\"].actions[0].add: "
                                       "variable \"n\" is not set; add needs "
                                       "a number"));
  Machine text = StartOrDie(WithState(
                                R"({"actions": [{"add": {"variable": "n",
                                    "amount": 1}}], "yield": {"next": "END"}})"),
                            R"({"n": {"string": "3"}})");
  text.Poll(kStart);
  EXPECT_THAT(text.error(), HasSubstr("variable \"n\" is a string"));
}

TEST(MachineTest, AnAddThatOverflowsFailsTheTaskAndKeepsTheNumber) {
  Machine machine = StartOrDie(WithState(R"({"actions": [
      {"set": {"variable": "n", "value": {"number": 1e308}}},
      {"add": {"variable": "n", "amount": 1e308}}],
      "yield": {"next": "END"}})"));
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_THAT(machine.error(),
              HasSubstr("states[\"S\"].actions[1].add: adding 1e+308 to "
                        "variable \"n\" (1e+308) overflows; NaN and "
                        "infinities are not numbers a task can hold"));
  EXPECT_EQ(machine.variables().at("n"), Value(1e308));
}

TEST(MachineTest, StartRefusesInputsThatAreNotFinite) {
  for (double number : {std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity(),
                        std::numeric_limits<double>::quiet_NaN()}) {
    google::protobuf::Map<std::string, v1::Value> inputs;
    inputs["count"].set_number(number);
    absl::StatusOr<Machine> machine =
        Machine::Start(CompileOrDie(testing::kHelloJson), inputs);
    ASSERT_FALSE(machine.ok()) << number;
    EXPECT_EQ(machine.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(machine.status().message(),
              "input \"count\": NaN and infinities are not numbers a task "
              "can hold");
  }
}

TEST(MachineTest, CopyOfAnUnsetVariableFails) {
  Machine machine = StartOrDie(WithState(
      R"({"actions": [{"set": {"variable": "a", "copyOf": "b"}}],
          "yield": {"next": "END"}})"));
  machine.Poll(kStart);
  EXPECT_THAT(machine.error(), HasSubstr("actions[0].set: variable \"b\" is "
                                         "not set"));
}

TEST(MachineTest, EnforcesVariableLimits) {
  MachineLimits limits;
  limits.max_variables = 1;
  Machine machine = Machine::Start(
      CompileOrDie(R"({"name": "t", "initial": "S", "states": {"S":
        {"actions": [{"set": {"variable": "a", "value": {"number": 1}}},
                     {"set": {"variable": "a", "value": {"number": 2}}},
                     {"set": {"variable": "b", "value": {"number": 1}}}],
         "complete": {}}}})",
                   limits));
  machine.Poll(kStart);
  EXPECT_THAT(machine.error(),
              HasSubstr("actions[2].set: setting \"b\" would exceed 1 "
                        "variables, the limit"));
}

TEST(MachineTest, TheVariablesTotalSizeIsBoundedAcrossInputsAndSets) {
  MachineLimits limits;
  limits.max_variables_bytes = 20;  // "a" + 8 + "b" + 8 = 18 fits
  auto program = CompileOrDie(R"({"name": "t", "initial": "S", "states": {"S":
        {"actions": [{"set": {"variable": "b", "value": {"number": 1}}},
                     {"set": {"variable": "a", "value": {"number": 2}}},
                     {"set": {"variable": "c", "value": {"string": "xyz"}}}],
         "complete": {}}}})",
                              limits);
  Machine machine = StartOrDie(program, R"({"a": {"number": 1}})");
  machine.Poll(kStart);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_THAT(machine.error(),
              HasSubstr("actions[2].set: setting \"c\" would bring the "
                        "task's variables to 22 bytes, past the limit of 20 "
                        "(--task-max-variables-bytes)"));
  EXPECT_EQ(machine.variables().size(), 2);  // a replaced in place, b set

  v1::TaskSnapshot holder;
  (*holder.mutable_variables())["big"].set_string(std::string(30, 'x'));
  absl::StatusOr<Machine> refused = Machine::Start(program, holder.variables());
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status()));
  EXPECT_THAT(refused.status().message(),
              HasSubstr("--task-max-variables-bytes"));
}

TEST(MachineTest, OutputPastItsTotalFailsTheTaskAndSurvivesARestore) {
  MachineLimits limits;
  limits.max_output_bytes = 10;
  auto program = CompileOrDie(R"({"name": "t", "initial": "S", "states": {
        "S": {"emit": "abcd", "yield": {"next": "C"}},
        "C": {"choice": {"when": [{"variable": "stop", "isSet": true,
                                   "next": "END"}], "otherwise": "S"}},
        "END": {"complete": {}}}})",
                              limits);
  Machine machine = StartOrDie(program);
  std::string output;
  EXPECT_EQ(PollInto(machine, kStart, &output).next, Next::kRunAgain);
  EXPECT_EQ(machine.output_bytes(), 4);
  // A restored task keeps its count: it has 6 of its 10 bytes left.
  absl::StatusOr<Machine> restored =
      Machine::Restore(program, machine.Snapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(PollInto(*restored, kStart, &output).next, Next::kRunAgain);
  EXPECT_EQ(PollInto(*restored, kStart, &output).next, Next::kEnded);
  EXPECT_EQ(output, "abcdabcd");  // the third chunk would pass 10 bytes
  EXPECT_EQ(restored->status(), v1::TASK_STATUS_FAILED);
  EXPECT_THAT(restored->error(),
              HasSubstr("states[\"S\"].emit: the task's output would pass "
                        "its limit of 10 bytes in all "
                        "(--task-max-output-bytes); it has emitted 8"));
}

TEST(MachineTest, SleepWaitsForItsAbsoluteDeadline) {
  Machine machine = StartOrDie(
      WithState(R"({"sleep": {"duration": "1.5s", "next": "END"}})"));
  PollOutcome first = machine.Poll(kStart);
  EXPECT_EQ(first.next, Next::kWait);
  EXPECT_EQ(first.deadline, kStart + absl::Milliseconds(1500));
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_SLEEPING);
  PollOutcome early = machine.Poll(kStart + absl::Seconds(1));
  EXPECT_EQ(early.next, Next::kWait);
  EXPECT_EQ(early.steps, 0);
  EXPECT_EQ(early.deadline, kStart + absl::Milliseconds(1500));
  EXPECT_EQ(machine.Poll(kStart + absl::Milliseconds(1500)).next, Next::kEnded);
}

TEST(MachineTest, AZeroSleepStillSuspendsOnce) {
  Machine machine =
      StartOrDie(WithState(R"({"sleep": {"duration": "0s", "next": "END"}})"));
  PollOutcome first = machine.Poll(kStart);
  EXPECT_EQ(first.next, Next::kWait);
  EXPECT_EQ(first.deadline, kStart);
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
}

constexpr absl::string_view kAwaitOk = R"({"emit": "waiting\n",
    "await": {"signals": {"ok": "END"}}})";

TEST(MachineTest, AwaitTakesASignalAndLandsItsPayload) {
  Machine machine = StartOrDie(CompileOrDie(R"({"name": "t", "initial": "S",
    "states": {"S": {"await": {"signals": {"ok": "DONE"}}},
               "DONE": {"complete": {"result": "${signal.by}/${signal.n}/${signal.user.id}"}}}})"));
  EXPECT_EQ(machine.Poll(kStart).next, Next::kWait);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_AWAITING);
  absl::StatusOr<WakeReceipt> receipt = machine.Deliver(
      MakeSignal("ok", R"({"by": "ana", "n": 2, "user": {"id": 7}})"), kStart);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->disposition, Disposition::kConsumed);
  EXPECT_EQ(receipt->sequence, 1);
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(machine.result(), "ana/2/7");
  EXPECT_EQ(machine.mailbox_size(), 0);
}

TEST(MachineTest, ASignalReplacesTheVariablesOfThePreviousOne) {
  Machine machine = StartOrDie(CompileOrDie(R"({"name": "t", "initial": "A",
    "signalPrefix": "in.", "states": {
      "A": {"await": {"signals": {"x": "B"}}},
      "B": {"await": {"signals": {"x": "C"}}},
      "C": {"choice": {"when": [{"variable": "in.old", "isSet": true,
                                 "next": "BAD"}], "otherwise": "END"}},
      "BAD": {"fail": {}}, "END": {"complete": {"result": "${in.new}"}}}})"));
  ASSERT_TRUE(machine.Deliver(MakeSignal("x", R"({"old": 1})"), kStart).ok());
  ASSERT_TRUE(machine.Deliver(MakeSignal("x", R"({"new": 2})"), kStart).ok());
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(machine.result(), "2");
}

TEST(MachineTest, AnEmptyPrefixLandsPayloadsAtTopLevel) {
  Machine machine = StartOrDie(CompileOrDie(R"({"name": "t", "initial": "A",
    "signalPrefix": "", "states": {
      "A": {"await": {"signals": {"x": "END"}}},
      "END": {"complete": {"result": "${v}"}}}})"));
  ASSERT_TRUE(machine.Deliver(MakeSignal("x", R"({"v": true})"), kStart).ok());
  machine.Poll(kStart);
  EXPECT_EQ(machine.result(), "true");
}

TEST(MachineTest, KeepsEarlyAndUnawaitedSignalsInArrivalOrder) {
  Machine machine = StartOrDie(CompileOrDie(R"({"name": "t", "initial": "A",
    "states": {
      "A": {"yield": {"next": "B"}},
      "B": {"await": {"signals": {"go": "C"}}},
      "C": {"emit": "${signal.n} ", "await": {"signals": {"go": "D", "other": "D"}}},
      "D": {"emit": "${signal.n}", "complete": {}}}})"));
  auto deliver = [&](absl::string_view name, int n) {
    absl::StatusOr<WakeReceipt> receipt = machine.Deliver(
        MakeSignal(name, absl::StrCat(R"({"n": )", n, "}")), kStart);
    EXPECT_TRUE(receipt.ok());
    return receipt->disposition;
  };
  EXPECT_EQ(deliver("other", 1), Disposition::kBuffered);  // not awaiting
  EXPECT_EQ(deliver("go", 2), Disposition::kBuffered);
  EXPECT_EQ(deliver("go", 3), Disposition::kBuffered);
  std::string output;
  PollInto(machine, kStart, &output);  // A yields
  EXPECT_EQ(machine.mailbox_size(), 3);
  // B takes "go" #2 (the earliest it awaits); C takes "other" #1.
  EXPECT_EQ(PollInto(machine, kStart, &output).next, Next::kEnded);
  EXPECT_EQ(output, "2 1");
  EXPECT_EQ(machine.mailbox_size(), 1);  // "go" #3 is still there
  EXPECT_EQ(machine.Snapshot().mailbox(0).sequence(), 3);
}

TEST(MachineTest, OnlyTheFirstMatchingSignalIsConsumed) {
  Machine machine = StartOrDie(WithState(kAwaitOk));
  machine.Poll(kStart);
  EXPECT_EQ(machine.Deliver(MakeSignal("other"), kStart)->disposition,
            Disposition::kBuffered);
  EXPECT_EQ(machine.Deliver(MakeSignal("ok"), kStart)->disposition,
            Disposition::kConsumed);
  EXPECT_EQ(machine.Deliver(MakeSignal("ok"), kStart)->disposition,
            Disposition::kBuffered);
  machine.Poll(kStart);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(machine.mailbox_size(), 2);
}

TEST(MachineTest, AwaitTimesOut) {
  Machine machine = StartOrDie(CompileOrDie(R"({"name": "t", "initial": "A",
    "states": {"A": {"await": {"signals": {"ok": "YES"}, "timeout": "10s",
                               "onTimeout": "NO"}},
               "YES": {"complete": {"result": "yes"}},
               "NO": {"complete": {"result": "no"}}}})"));
  PollOutcome waiting = machine.Poll(kStart);
  EXPECT_EQ(waiting.deadline, kStart + absl::Seconds(10));
  EXPECT_EQ(machine.Poll(kStart + absl::Seconds(9)).steps, 0);
  // Arrives after the deadline, before the poll: the timeout wins.
  EXPECT_EQ(machine.Deliver(MakeSignal("ok"), kStart + absl::Seconds(11))
                ->disposition,
            Disposition::kBuffered);
  machine.Poll(kStart + absl::Seconds(11));
  EXPECT_EQ(machine.result(), "no");
  // Accepted but never taken: it stays, visible in the snapshot.
  EXPECT_EQ(machine.mailbox_size(), 1);
}

TEST(MachineTest, ASignalAtTheDeadlineBeatsTheTimeout) {
  Machine machine = StartOrDie(CompileOrDie(R"({"name": "t", "initial": "A",
    "states": {"A": {"await": {"signals": {"ok": "YES"}, "timeout": "10s",
                               "onTimeout": "NO"}},
               "YES": {"complete": {"result": "yes"}},
               "NO": {"complete": {"result": "no"}}}})"));
  machine.Poll(kStart);
  const absl::Time deadline = kStart + absl::Seconds(10);
  EXPECT_EQ(machine.Deliver(MakeSignal("ok"), deadline)->disposition,
            Disposition::kConsumed);
  machine.Poll(deadline + absl::Seconds(5));
  EXPECT_EQ(machine.result(), "yes");
}

TEST(MachineTest, RefusesSignalsOnceEnded) {
  Machine machine = StartOrDie(CompileOrDie(testing::kHelloJson));
  while (machine.Poll(kStart).next != Next::kEnded) {
  }
  absl::StatusOr<WakeReceipt> receipt =
      machine.Deliver(MakeSignal("ok"), kStart);
  ASSERT_TRUE(receipt.ok());
  EXPECT_EQ(receipt->disposition, Disposition::kRefusedEnded);
  EXPECT_EQ(receipt->sequence, 0);
}

TEST(MachineTest, RejectsBadSignals) {
  MachineLimits limits;
  limits.max_payload_bytes = 48;
  limits.max_mailbox_signals = 1;
  Machine machine = Machine::Start(CompileOrDie(
      R"({"name": "t", "initial": "S", "states": {"S": {"await":
         {"signals": {"ok": "END"}}}, "END": {"complete": {}}}})",
      limits));
  auto error = [&](const v1::Signal& signal) {
    absl::StatusOr<WakeReceipt> receipt = machine.Deliver(signal, kStart);
    EXPECT_FALSE(receipt.ok());
    return receipt.status();
  };
  EXPECT_THAT(error(MakeSignal("no way")).message(),
              HasSubstr("signal name \"no way\" is not valid"));
  EXPECT_THAT(error(MakeSignal("ok", R"({"bad key": 1})")).message(),
              HasSubstr("payload field \"signal.bad key\" cannot be a "
                        "variable name"));
  EXPECT_THAT(
      error(
          MakeSignal("ok",
                     R"({"text": "0123456789012345678901234567890123456789"})"))
          .message(),
      HasSubstr("signal payload is 52 bytes; the limit is 48"));
  v1::Signal not_finite = MakeSignal("ok");
  (*not_finite.mutable_payload()->mutable_fields())["n"].set_number_value(
      std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(error(not_finite).message(),
              HasSubstr("payload field \"signal.n\": NaN and infinities are "
                        "not numbers a task can hold"));
  const absl::Status long_name =
      error(MakeSignal(std::string(10240, 'x') + " "));
  EXPECT_THAT(long_name.message(), HasSubstr("...\" (10241 bytes) is not"));
  EXPECT_LT(long_name.message().size(), 400u);
  ASSERT_TRUE(machine.Deliver(MakeSignal("ok"), kStart).ok());
  absl::Status full = error(MakeSignal("ok"));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("mailbox already holds 1 signals"));
}

}  // namespace
}  // namespace corosched::machine
