// Machine: choice, the step budget, complete and fail, cancel, and inputs.

#include <string>

#include "absl/strings/str_cat.h"
#include "core/machine/machine.h"
#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using ::testing::HasSubstr;
using Next = PollOutcome::Next;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

v1::Value Number(double n) {
  v1::Value value;
  value.set_number(n);
  return value;
}

v1::Value String(absl::string_view s) {
  v1::Value value;
  value.set_string(std::string(s));
  return value;
}

// Runs a definition whose state S chooses with `branch_json` (next: YES)
// otherwise NO, with inputs a and b; returns the result, or the error.
std::string Choose(absl::string_view branch_json, const v1::Value& a,
                   const v1::Value& b) {
  std::shared_ptr<const Program> program = CompileOrDie(absl::StrCat(
      R"({"name": "t", "initial": "S", "states": {
        "S": {"choice": {"when": [)",
      branch_json, R"(], "otherwise": "NO"}},
        "YES": {"complete": {"result": "yes"}},
        "NO": {"complete": {"result": "no"}}}})"));
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["a"] = a;
  inputs["b"] = b;
  absl::StatusOr<Machine> machine = Machine::Start(program, inputs);
  EXPECT_TRUE(machine.ok());
  EXPECT_EQ(machine->Poll(kStart).next, Next::kEnded);
  return machine->status() == v1::TASK_STATUS_COMPLETED ? machine->result()
                                                        : machine->error();
}

std::string Compare(absl::string_view test, absl::string_view operand, double a,
                    double b = 0) {
  return Choose(absl::StrCat(R"({"variable": "a", ")", test, R"(": )", operand,
                             R"(, "next": "YES"})"),
                Number(a), Number(b));
}

TEST(MachineChoiceTest, ComparesNumbersWithLiterals) {
  EXPECT_EQ(Compare("equals", R"({"number": 2})", 2), "yes");
  EXPECT_EQ(Compare("equals", R"({"number": 2})", 3), "no");
  EXPECT_EQ(Compare("notEquals", R"({"number": 2})", 3), "yes");
  EXPECT_EQ(Compare("lessThan", R"({"number": 2})", 1), "yes");
  EXPECT_EQ(Compare("lessThan", R"({"number": 2})", 2), "no");
  EXPECT_EQ(Compare("lessOrEqual", R"({"number": 2})", 2), "yes");
  EXPECT_EQ(Compare("greaterThan", R"({"number": 2})", 2), "no");
  EXPECT_EQ(Compare("greaterThan", R"({"number": 2})", 2.5), "yes");
  EXPECT_EQ(Compare("greaterOrEqual", R"({"number": 2})", 2), "yes");
  EXPECT_EQ(Compare("greaterOrEqual", R"({"number": 2})", 1), "no");
}

TEST(MachineChoiceTest, ComparesWithAnotherVariable) {
  EXPECT_EQ(Compare("lessThan", R"({"variable": "b"})", 1, 2), "yes");
  EXPECT_EQ(Compare("lessThan", R"({"variable": "b"})", 2, 1), "no");
  EXPECT_EQ(Compare("equals", R"({"variable": "b"})", 2, 2), "yes");
}

TEST(MachineChoiceTest, ComparesStringsAndBools) {
  const std::string equals_x =
      R"({"variable": "a", "equals": {"string": "x"}, "next": "YES"})";
  EXPECT_EQ(Choose(equals_x, String("x"), Number(0)), "yes");
  EXPECT_EQ(Choose(equals_x, String("y"), Number(0)), "no");
  v1::Value yes;
  yes.set_bool_(true);
  EXPECT_EQ(Choose(R"({"variable": "a", "notEquals": {"bool": false},
                       "next": "YES"})",
                   yes, Number(0)),
            "yes");
}

TEST(MachineChoiceTest, TestsWhetherAVariableIsSet) {
  EXPECT_EQ(Choose(R"({"variable": "a", "isSet": true, "next": "YES"})",
                   Number(0), Number(0)),
            "yes");
  EXPECT_EQ(Choose(R"({"variable": "zz", "isSet": true, "next": "YES"})",
                   Number(0), Number(0)),
            "no");
  EXPECT_EQ(Choose(R"({"variable": "zz", "isSet": false, "next": "YES"})",
                   Number(0), Number(0)),
            "yes");
}

TEST(MachineChoiceTest, TakesTheFirstBranchThatHolds) {
  EXPECT_EQ(Choose(R"({"variable": "a", "greaterThan": {"number": 0},
                       "next": "NO"},
                      {"variable": "a", "greaterThan": {"number": 0},
                       "next": "YES"})",
                   Number(1), Number(0)),
            "no");
}

TEST(MachineChoiceTest, FailsOnUnlikeTypesOrUnsetVariables) {
  EXPECT_EQ(Choose(R"({"variable": "a", "equals": {"number": 1},
                       "next": "YES"})",
                   String("1"), Number(0)),
            "states[\"S\"].choice.when[0].equals: compares variable \"a\", a "
            "string, with a number; compare like with like");
  EXPECT_THAT(Choose(R"({"variable": "a", "lessThan": {"variable": "b"},
                         "next": "YES"})",
                     Number(1), String("2")),
              HasSubstr("when[0].lessThan: lessThan orders numbers, but its "
                        "operand is a string"));
  EXPECT_THAT(Choose(R"({"variable": "zz", "lessThan": {"number": 1},
                         "next": "YES"})",
                     Number(1), Number(2)),
              HasSubstr("when[0].lessThan: variable \"zz\" is not set; set "
                        "it first or test it with isSet"));
}

// Counts `n` from 0 to `limit` through choice states only.
constexpr absl::string_view kChoiceLoop = R"({"name": "t", "initial": "LOOP",
  "states": {
    "LOOP": {"actions": [{"add": {"variable": "n", "amount": 1}}],
             "choice": {"when": [{"variable": "n", "lessThan": {"variable": "limit"},
                                  "next": "LOOP"}], "otherwise": "END"}},
    "END": {"complete": {"result": "${n}"}}}})";

TEST(MachineChoiceTest, AChoiceChainYieldsAfterTheStepBudget) {
  MachineLimits limits;
  limits.max_steps_per_poll = 10;
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"] = Number(0);
  inputs["limit"] = Number(25);
  Machine machine = *Machine::Start(CompileOrDie(kChoiceLoop, limits), inputs);
  PollOutcome first = machine.Poll(kStart);
  EXPECT_EQ(first.next, Next::kRunAgain);
  EXPECT_EQ(first.steps, 10);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_READY);
  EXPECT_EQ(machine.Poll(kStart).steps, 10);
  PollOutcome last = machine.Poll(kStart);
  EXPECT_EQ(last.next, Next::kEnded);
  EXPECT_EQ(last.steps, 6);  // n = 21..25, then END
  EXPECT_EQ(machine.result(), "25");
}

TEST(MachineChoiceTest, ALoopThatNeverSuspendsFailsAfterTheTotalBudget) {
  MachineLimits limits;
  limits.max_steps_per_poll = 10;
  limits.max_steps_without_suspending = 95;
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"] = Number(0);
  inputs["limit"] = Number(1e9);
  Machine machine = *Machine::Start(CompileOrDie(kChoiceLoop, limits), inputs);
  int polls = 1;
  while (machine.Poll(kStart).next == Next::kRunAgain) ++polls;
  EXPECT_EQ(polls, 10);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_EQ(machine.error(),
            "states[\"LOOP\"]: entered 96 states in a row without suspending "
            "(the limit is 95); a loop of choice states must reach a yield, "
            "sleep, await, complete or fail");
  EXPECT_EQ(machine.variables().at("n"), Value(95.0));
}

TEST(MachineChoiceTest, SuspendingResetsTheTotalBudget) {
  MachineLimits limits;
  limits.max_steps_without_suspending = 3;
  Machine machine =
      *Machine::Start(CompileOrDie(R"({"name": "t",
    "initial": "A", "states": {
      "A": {"actions": [{"add": {"variable": "n", "amount": 1}}],
            "choice": {"otherwise": "B"}},
      "B": {"choice": {"when": [{"variable": "n", "lessThan": {"number": 10}, "next": "C"}],
                       "otherwise": "END"}},
      "C": {"yield": {"next": "A"}},
      "END": {"complete": {}}}})",
                                   limits),
                      [] {
                        google::protobuf::Map<std::string, v1::Value> inputs;
                        inputs["n"] = Number(0);
                        return inputs;
                      }());
  while (machine.Poll(kStart).next != Next::kEnded) {
  }
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_COMPLETED);
}

TEST(MachineChoiceTest, CompleteAndFailRenderTheirTexts) {
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["who"] = String("ana");
  Machine done = *Machine::Start(
      CompileOrDie(R"({"name": "t", "initial": "S", "states": {"S":
        {"complete": {"result": "hi ${who}"}}}})"),
      inputs);
  done.Poll(kStart);
  EXPECT_EQ(done.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(done.result(), "hi ana");
  Machine failed = *Machine::Start(
      CompileOrDie(R"({"name": "t", "initial": "S", "states": {"S":
        {"fail": {"error": "no ${who}"}}}})"),
      inputs);
  failed.Poll(kStart);
  EXPECT_EQ(failed.status(), v1::TASK_STATUS_FAILED);
  EXPECT_EQ(failed.error(), "no ana");
  Machine broken = Machine::Start(CompileOrDie(
      R"({"name": "t", "initial": "S", "states": {"S":
        {"complete": {"result": "${nobody}"}}}})"));
  broken.Poll(kStart);
  EXPECT_THAT(broken.error(), HasSubstr("states[\"S\"].complete.result: "
                                        "variable \"nobody\" is not set"));
}

TEST(MachineChoiceTest, CancelEndsTheTaskAndRefusesLaterSignals) {
  Machine machine = Machine::Start(CompileOrDie(testing::kHelloJson));
  machine.Poll(kStart);
  machine.Cancel("operator asked");
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_CANCELLED);
  EXPECT_EQ(machine.error(), "operator asked");
  EXPECT_EQ(machine.Poll(kStart).next, Next::kEnded);
  EXPECT_EQ(machine.Deliver(testing::MakeSignal("x"), kStart)->disposition,
            WakeReceipt::Disposition::kRefusedEnded);
}

TEST(MachineChoiceTest, StartChecksInputs) {
  std::shared_ptr<const Program> program = CompileOrDie(testing::kHelloJson);
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["bad name"] = Number(1);
  EXPECT_THAT(Machine::Start(program, inputs).status().message(),
              HasSubstr("input \"bad name\": is not a valid variable name"));
  inputs.clear();
  inputs["empty"] = v1::Value();
  EXPECT_THAT(Machine::Start(program, inputs).status().message(),
              HasSubstr("input \"empty\": has no value"));
}

}  // namespace
}  // namespace corosched::machine
