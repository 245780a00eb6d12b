#include "core/machine/validator.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ParseOrDie;
using ::testing::SizeIs;

std::vector<std::string> Problems(const v1::TaskDefinition& definition,
                                  const MachineLimits& limits = {}) {
  std::vector<std::string> lines;
  for (const DefinitionProblem& problem :
       FindDefinitionProblems(definition, limits)) {
    lines.push_back(problem.ToString());
  }
  return lines;
}

std::vector<std::string> Problems(absl::string_view json,
                                  const MachineLimits& limits = {}) {
  return Problems(ParseOrDie(json), limits);
}

// A definition whose single state `S` is `state_json`, with an END to go to.
std::string WithState(absl::string_view state_json) {
  return absl::StrCat(R"({"name": "t", "initial": "S", "states": {"S": )",
                      state_json, R"(, "END": {"complete": {}}}})");
}

TEST(ValidatorTest, AcceptsTheSeedExample) {
  EXPECT_THAT(Problems(testing::kHelloJson), IsEmpty());
  EXPECT_TRUE(ValidateDefinition(ParseOrDie(testing::kHelloJson)).ok());
}

TEST(ValidatorTest, ValidateNamesTheFieldAtFault) {
  absl::Status valid = ValidateDefinition(ParseOrDie(
      R"({"name": "t", "initial": "A", "states": {"A": {"yield": {}}}})"));
  EXPECT_EQ(valid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(valid.message(), HasSubstr("states[\"A\"].yield.next: missing"));
}

TEST(ValidatorTest, NamesTheUnknownTargetAndTheKnownStates) {
  EXPECT_THAT(
      Problems(R"({"name": "hello", "initial": "HELLO", "states": {
        "HELLO": {"emit": "Hello, ", "yield": {"next": "WORLD"}},
        "WORLD": {"emit": "World!", "yield": {"next": "ENDD"}},
        "END": {"complete": {}}}})"),
      ElementsAre("states[\"WORLD\"].yield.next: unknown state \"ENDD\"; "
                  "known states: END, HELLO, WORLD"));
}

TEST(ValidatorTest, ReportsEveryProblemAtOnce) {
  const v1::TaskDefinition definition = ParseOrDie(R"({"initial": "NOPE",
    "states": {"A": {"yield": {"next": "B"}}, "C": {}}})");
  EXPECT_THAT(Problems(definition),
              ElementsAre(HasSubstr("name: missing"),
                          "initial: unknown state \"NOPE\"; known states: A, C",
                          HasSubstr("states[\"A\"].yield.next: unknown state "
                                    "\"B\""),
                          HasSubstr("states[\"C\"]: no way to suspend or "
                                    "finish; add one of yield, sleep")));
  absl::Status status = ValidateDefinition(definition);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("has 4 problems:"), HasSubstr("\n  name: "),
                    HasSubstr("\n  initial: "), HasSubstr("\n  states[\"A\"]"),
                    HasSubstr("\n  states[\"C\"]")));
}

TEST(ValidatorTest, RequiresAnInitialState) {
  EXPECT_THAT(Problems(R"({"name": "t", "states": {"END": {"complete": {}}}})"),
              ElementsAre("initial: missing; name the state a new task "
                          "starts in; known states: END"));
}

TEST(ValidatorTest, RequiresStates) {
  EXPECT_THAT(Problems(R"({"name": "t", "initial": "A"})"),
              ElementsAre(HasSubstr("states: no states; add at least one"),
                          "initial: unknown state \"A\"; known states: "
                          "(none)"));
}

TEST(ValidatorTest, RequiresAReachableEnd) {
  EXPECT_THAT(Problems(R"({"name": "t", "initial": "A", "states": {
      "A": {"yield": {"next": "B"}}, "B": {"sleep": {"duration": "1s",
      "next": "A"}}, "Z": {"complete": {}}}})"),
              ElementsAre(HasSubstr("initial: no complete or fail state can be "
                                    "reached from \"A\"")));
}

TEST(ValidatorTest, RejectsEmptyAndMalformedNames) {
  EXPECT_THAT(
      Problems(R"({"name": "my task", "version": "1/2", "initial": "",
        "states": {"": {"complete": {}}, "A B": {"complete": {}}}})"),
      ElementsAre(HasSubstr("name: definition name \"my task\" is not valid"),
                  HasSubstr("version: version name \"1/2\" is not valid"),
                  HasSubstr("initial: missing"),
                  HasSubstr("states[\"\"]: empty state name"),
                  HasSubstr("states[\"A B\"]: state name \"A B\" is not "
                            "valid; use only letters")));
}

TEST(ValidatorTest, RejectsBadVariableAndSignalNames) {
  EXPECT_THAT(
      Problems(WithState(R"({"actions": [{"set": {"value": {"number": 1}}},
        {"add": {"variable": "a b", "amount": 1}}],
        "await": {"signals": {"go!": "END"}}})")),
      ElementsAre(
          HasSubstr("states[\"S\"].actions[0].set.variable: empty variable "
                    "name"),
          HasSubstr("states[\"S\"].actions[1].add.variable: variable name "
                    "\"a b\" is not valid"),
          HasSubstr("states[\"S\"].await.signals[\"go!\"]: signal name")));
}

TEST(ValidatorTest, ChecksDurations) {
  EXPECT_THAT(Problems(WithState(R"({"sleep": {"duration": "-1.5s",
                                      "next": "END"}})")),
              ElementsAre("states[\"S\"].sleep.duration: negative (-1.5s); "
                          "durations must be \"0s\" or more"));
  EXPECT_THAT(Problems(WithState(R"({"sleep": {"next": "END"}})")),
              ElementsAre(HasSubstr("sleep.duration: missing; write how long "
                                    "to sleep as seconds, e.g. \"1.5s\"")));
  EXPECT_THAT(Problems(WithState(R"({"sleep": {"duration": "40000000s",
                                      "next": "END"}})")),
              ElementsAre(HasSubstr("is longer than the limit of 8784h")));
  // Protobuf calls seconds and nanos of different signs malformed; only the
  // binary form can carry them.
  v1::TaskDefinition definition =
      ParseOrDie(WithState(R"({"sleep": {"duration": "1s", "next": "END"}})"));
  (*definition.mutable_states())["S"]
      .mutable_sleep()
      ->mutable_duration()
      ->set_nanos(-5);
  EXPECT_THAT(Problems(definition),
              ElementsAre(HasSubstr("sleep.duration: malformed duration")));
}

TEST(ValidatorTest, ChecksAwaits) {
  EXPECT_THAT(Problems(WithState(R"({"await": {}})")),
              ElementsAre(HasSubstr("states[\"S\"].await: waits forever"),
                          HasSubstr("initial: no complete or fail state")));
  EXPECT_THAT(
      Problems(WithState(R"({"await": {"signals": {"go": "END"},
                                       "onTimeout": "END"}})")),
      ElementsAre(HasSubstr("await.onTimeout: set, but there is no timeout")));
  EXPECT_THAT(Problems(WithState(R"({"await": {"signals": {"go": "END"},
                                       "timeout": "1s"}})")),
              ElementsAre(HasSubstr("states[\"S\"].await.onTimeout: missing")));
  EXPECT_THAT(Problems(WithState(R"({"await": {"timeout": "-1s",
                                                "onTimeout": "END"}})")),
              ElementsAre(HasSubstr("await.timeout: negative")));
}

TEST(ValidatorTest, ChecksChoices) {
  EXPECT_THAT(
      Problems(WithState(R"({"choice": {"when": [{"variable": "x",
        "next": "END"}, {"variable": "x", "equals": {}, "next": "END"}]}})")),
      ElementsAre(HasSubstr("choice.when[0]: no test; add one of equals"),
                  HasSubstr("choice.when[1].equals: nothing to compare with"),
                  HasSubstr("choice.otherwise: missing")));
}

TEST(ValidatorTest, FindsTypeMismatchesInChoice) {
  EXPECT_THAT(
      Problems(WithState(R"({"actions": [
          {"set": {"variable": "n", "value": {"number": 1}}},
          {"set": {"variable": "s", "value": {"string": "x"}}}],
        "choice": {"when": [
          {"variable": "n", "equals": {"string": "1"}, "next": "END"},
          {"variable": "s", "lessThan": {"number": 3}, "next": "END"},
          {"variable": "x", "greaterThan": {"bool": true}, "next": "END"},
          {"variable": "n", "notEquals": {"variable": "s"}, "next": "END"},
          {"variable": "unknown", "equals": {"bool": true}, "next": "END"}],
        "otherwise": "END"}})")),
      ElementsAre(
          "states[\"S\"].choice.when[0].equals: compares variable \"n\", a "
          "number (states[\"S\"].actions[0].set.value), with a string; "
          "compare like with like",
          HasSubstr("when[1].lessThan: orders numbers only, but compares "
                    "variable \"s\", a string"),
          HasSubstr("when[2].greaterThan: orders numbers only, but compares "
                    "a bool"),
          HasSubstr("when[3].notEquals: compares variable \"n\", a number "
                    "(states[\"S\"].actions[0].set.value), with variable "
                    "\"s\", a string")));
}

TEST(ValidatorTest, KeepsOneTypePerVariable) {
  EXPECT_THAT(Problems(WithState(R"({"actions": [
      {"set": {"variable": "n", "value": {"string": "x"}}},
      {"add": {"variable": "n", "amount": 1}}], "yield": {"next": "END"}})")),
              ElementsAre("states[\"S\"].actions[1].add: makes variable \"n\" "
                          "a number, but states[\"S\"].actions[0].set.value "
                          "makes it a string; a variable keeps one type"));
}

TEST(ValidatorTest, ChecksActions) {
  EXPECT_THAT(
      Problems(WithState(R"({"actions": [{}, {"emit": ""},
        {"emit": "${unclosed"}, {"set": {"variable": "a"}},
        {"set": {"variable": "b", "value": {}}},
        {"set": {"variable": "c", "value": {"number": "NaN"}}},
        {"set": {"variable": "d", "copyOf": "a b"}}],
        "complete": {"result": "${}"}})")),
      ElementsAre(
          "states[\"S\"].actions[0]: empty action; set one of emit, set, add",
          HasSubstr("actions[1].emit: empty"),
          HasSubstr("actions[2].emit: unterminated \"${\" at offset 0"),
          HasSubstr("actions[3].set: no source"),
          HasSubstr("actions[4].set.value: no type"),
          HasSubstr("actions[5].set.value.number: NaN and infinities are "
                    "not numbers a task can hold"),
          HasSubstr("actions[6].set.copyOf: variable name \"a b\""),
          HasSubstr("complete.result: placeholder \"${}\" at offset 0 is not "
                    "a variable name")));
}

TEST(ValidatorTest, EnforcesLimits) {
  MachineLimits limits;
  limits.max_states = 2;
  limits.max_actions_per_state = 1;
  limits.max_branches_per_choice = 1;
  limits.max_signals_per_await = 1;
  limits.max_name_bytes = 8;
  limits.max_text_bytes = 4;
  EXPECT_THAT(
      Problems(R"({"name": "t", "initial": "S", "states": {
        "S": {"emit": "hello", "actions": [{"emit": "x"}],
              "choice": {"when": [
                {"variable": "a", "isSet": true, "next": "W"},
                {"variable": "a", "isSet": false, "next": "W"}],
              "otherwise": "W"}},
        "W": {"await": {"signals": {"a": "END", "b": "END"}}},
        "END": {"complete": {}},
        "LONGSTATENAME": {"complete": {}}}})",
               limits),
      ElementsAre(
          HasSubstr("states: 4 states; the limit is 2"),
          HasSubstr("states[\"LONGSTATENAME\"]: state name is 13 bytes; the "
                    "limit is 8"),
          HasSubstr("states[\"S\"].emit: 5 bytes of text; the limit is 4"),
          HasSubstr("states[\"S\"].actions: 2 actions (counting emit); the "
                    "limit is 1"),
          HasSubstr("states[\"S\"].choice.when: 2 branches; the limit is 1"),
          HasSubstr("states[\"W\"].await.signals: 2 signals; the limit is 1")));
}

TEST(ValidatorTest, ChecksTheTopLevelTexts) {
  MachineLimits limits;
  limits.max_text_bytes = 4;
  limits.max_name_bytes = 8;
  EXPECT_THAT(
      Problems(R"({"name": "t", "version": "123456789", "description": "hello",
                   "signalPrefix": "in put.", "initial": "END",
                   "states": {"END": {"complete": {}}}})",
               limits),
      ElementsAre(HasSubstr("version: version name is 9 bytes; the limit is 8"),
                  "description: 5 bytes of text; the limit is 4",
                  HasSubstr("signalPrefix: prefix name \"in put.\" is not "
                            "valid")));
  EXPECT_THAT(Problems(R"({"name": "t", "signalPrefix": "", "initial": "END",
                           "states": {"END": {"complete": {}}}})"),
              IsEmpty());
}

TEST(ValidatorTest, EnforcesTheTotalSize) {
  MachineLimits limits;
  limits.max_definition_bytes = 100;
  EXPECT_THAT(Problems(testing::kHelloJson, limits), IsEmpty());
  limits.max_definition_bytes = 50;
  EXPECT_THAT(Problems(testing::kHelloJson, limits),
              ElementsAre(HasSubstr("the definition is 81 bytes serialized; "
                                    "the limit is 50")));
}

TEST(ValidatorTest, CapsTheListedProblemsInTheMessage) {
  v1::TaskDefinition definition = ParseOrDie(testing::kHelloJson);
  for (int i = 0; i < 150; ++i) {
    (*definition.mutable_states())[absl::StrCat("S", i)];  // no suspension
  }
  std::vector<DefinitionProblem> problems = FindDefinitionProblems(definition);
  EXPECT_THAT(problems, SizeIs(150));
  const std::string message(ProblemsToStatus(definition, problems).message());
  EXPECT_LE(message.size(), kMaxListedProblemBytes + 100);
  const size_t listed = std::count(message.begin(), message.end(), '\n') - 1;
  EXPECT_GT(listed, 10u);
  EXPECT_THAT(message,
              HasSubstr(absl::StrCat("\n  ... and ", 150 - listed, " more")));
}

TEST(ValidatorTest, HugeNamesKeepTheMessageShort) {
  const std::string huge(900 * 1024, 'S');
  v1::TaskDefinition definition = ParseOrDie(testing::kHelloJson);
  definition.set_name(huge + " x");
  definition.set_initial(huge + "?");
  (*definition.mutable_states())[huge].mutable_yield()->set_next(huge + "!");
  absl::Status status = ValidateDefinition(definition);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(status.message().size(), size_t{8192});
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("...\" (921602 bytes) has"),
                    HasSubstr("known states: END, HELLO, \"SSS"),
                    HasSubstr("(921600 bytes)]: state name is 921600 bytes")));
}

TEST(ValidatorTest, RefusesNumbersThatAreNotFinite) {
  EXPECT_THAT(
      Problems(WithState(R"({"actions": [
        {"add": {"variable": "n", "amount": "Infinity"}}],
        "choice": {"when": [{"variable": "n", "lessThan": {"number":
          "-Infinity"}, "next": "END"}], "otherwise": "END"}})")),
      ElementsAre(HasSubstr("actions[0].add.amount: NaN and infinities are "
                            "not numbers a task can hold"),
                  HasSubstr("choice.when[0].lessThan.number: NaN and "
                            "infinities")));
}

}  // namespace
}  // namespace corosched::machine

namespace corosched::machine {
namespace {

TEST(ValidatorTest, ChecksPathsAndStructuredLiteralsByField) {
  v1::TaskDefinition definition = ParseOrDie(WithState(R"({
    "actions": [{"emit": "${order.items[x]}"},
                {"set": {"variable": "a", "copyOf": "b..c"}},
                {"set": {"variable": "ok", "copyOf": "order.items[0].sku"}},
                {"set": {"variable": "j", "value": {"json": {"k": [1]}}}}],
    "choice": {"when": [
      {"variable": "x[01]", "isSet": true, "next": "END"},
      {"variable": "o.p[2].q", "equals": {"variable": "r."}, "next": "END"},
      {"variable": "o", "equals": {"json": {"a": null}}, "next": "END"}],
      "otherwise": "END"}})"));
  v1::Value& nan = *definition.mutable_states()
                        ->at("S")
                        .mutable_actions(3)
                        ->mutable_set()
                        ->mutable_value();
  (*nan.mutable_json()->mutable_struct_value()->mutable_fields())["k"]
      .mutable_list_value()
      ->mutable_values(0)
      ->set_number_value(std::numeric_limits<double>::infinity());
  EXPECT_THAT(
      Problems(definition),
      ElementsAre(
          HasSubstr("states[\"S\"].actions[0].emit: placeholder "
                    "\"${order.items[x]}\" at offset 0 is not a variable "
                    "name or path"),
          HasSubstr("states[\"S\"].actions[1].set.copyOf: variable name "
                    "\"b..c\" is not a valid name or path"),
          "states[\"S\"].actions[3].set.value.json: at .k[0]: NaN and "
          "infinities are not numbers a task can hold",
          HasSubstr("states[\"S\"].choice.when[0].variable: variable name "
                    "\"x[01]\" is not a valid name or path"),
          HasSubstr("states[\"S\"].choice.when[1].equals.variable: variable "
                    "name \"r.\" is not a valid name or path")));
}

}  // namespace
}  // namespace corosched::machine
