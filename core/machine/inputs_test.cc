#include "core/machine/inputs.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/machine/machine.h"
#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ParseOrDie;

using Inputs = google::protobuf::Map<std::string, v1::Value>;

// A definition that completes with `result`, declaring `inputs_json`.
std::string Declaring(absl::string_view inputs_json,
                      absl::string_view result = "") {
  return absl::StrCat(
      R"({"name": "approval", "version": "1", "initial": "S", "inputs": )",
      inputs_json, R"(, "states": {"S": {"complete": {"result": ")", result,
      R"("}}}})");
}

constexpr absl::string_view kApprovalInputs = R"([
  {"name": "item", "type": "INPUT_TYPE_STRING", "required": true,
   "description": "what to approve"},
  {"name": "manager", "type": "INPUT_TYPE_STRING", "default": "bo"},
  {"name": "order", "type": "INPUT_TYPE_OBJECT"}])";

Inputs InputsOf(absl::string_view json) {
  v1::TaskSnapshot holder;  // its map<string, Value> parses inputs as JSON
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  absl::StrCat(R"({"variables": )", json, "}"), &holder)
                  .ok())
      << json;
  return holder.variables();
}

absl::StatusOr<Machine> StartWith(absl::string_view inputs_json,
                                  absl::string_view result = "") {
  return Machine::Start(CompileOrDie(Declaring(kApprovalInputs, result)),
                        InputsOf(inputs_json));
}

std::vector<std::string> Problems(absl::string_view inputs_json) {
  std::vector<std::string> lines;
  for (const DefinitionProblem& problem :
       FindDefinitionProblems(ParseOrDie(Declaring(inputs_json)))) {
    lines.push_back(problem.ToString());
  }
  return lines;
}

TEST(InputsTest, AMissingRequiredInputIsRefusedByName) {
  absl::StatusOr<Machine> machine =
      StartWith(R"({"manager": {"string": "x"}})");
  EXPECT_EQ(machine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(machine.status().message(),
            "input \"item\" is required by approval@1: \"what to approve\", "
            "a string value; give it among the task's inputs");
}

TEST(InputsTest, AWrongTypeNamesTheInputAndBothTypes) {
  absl::StatusOr<Machine> machine = StartWith(R"({"item": {"number": 3}})");
  EXPECT_EQ(machine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(machine.status().message(),
            "input \"item\" is a number, but approval@1 declares it a string");
  machine = StartWith(R"({"item": {"string": "x"}, "order": {"json": [1]}})");
  EXPECT_THAT(machine.status().message(),
              HasSubstr("input \"order\" is a list, but approval@1 declares "
                        "it an object"));
}

TEST(InputsTest, DefaultsFillInAbsentInputs) {
  absl::StatusOr<Machine> machine =
      StartWith(R"({"item": {"string": "laptop"}})", "${item} for ${manager}");
  ASSERT_TRUE(machine.ok()) << machine.status();
  machine->Poll(absl::UnixEpoch());
  EXPECT_EQ(machine->result(), "laptop for bo");
  EXPECT_FALSE(machine->variables().contains("order"));
  machine = StartWith(R"({"item": {"string": "pc"}, "manager": {"string": "cy"},
                         "order": {"json": {"id": 4}}})",
                      "${item} for ${manager}, order ${order.id}");
  ASSERT_TRUE(machine.ok()) << machine.status();
  machine->Poll(absl::UnixEpoch());
  EXPECT_EQ(machine->result(), "pc for cy, order 4");
}

TEST(InputsTest, AnUndeclaredInputIsRefusedListingTheDeclaredOnes) {
  absl::StatusOr<Machine> machine =
      StartWith(R"({"item": {"string": "x"}, "itme": {"string": "y"}})");
  EXPECT_EQ(machine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(machine.status().message(),
            "input \"itme\" is not declared by approval@1; it takes: item, "
            "manager, order");
}

TEST(InputsTest, WithoutDeclarationsAnyInputsAreAccepted) {
  absl::StatusOr<Machine> machine =
      Machine::Start(CompileOrDie(testing::kHelloJson),
                     InputsOf(R"({"anything": {"json": {"a": [null]}}})"));
  ASSERT_TRUE(machine.ok()) << machine.status();
  EXPECT_TRUE(machine->variables().contains("anything"));
}

TEST(InputsTest, ARestoredTaskIsNotCheckedAgainstDeclarations) {
  absl::StatusOr<Machine> machine = StartWith(R"({"item": {"string": "x"}})");
  ASSERT_TRUE(machine.ok());
  v1::TaskSnapshot snapshot = machine->Snapshot();
  (*snapshot.mutable_variables())["decision"].set_string("set by a state");
  snapshot.mutable_variables()->erase("item");
  EXPECT_TRUE(Machine::Restore(machine->shared_program(), snapshot).ok());
}

TEST(InputsTest, ValidDeclarationsHaveNoProblems) {
  EXPECT_THAT(Problems(kApprovalInputs), IsEmpty());
  EXPECT_THAT(Problems(R"([{"name": "any", "default": null},
                           {"name": "l", "type": "INPUT_TYPE_LIST",
                            "default": [1, {"a": 2}]}])"),
              IsEmpty());
}

TEST(InputsTest, TheValidatorNamesEachBadDeclaration) {
  EXPECT_THAT(
      Problems(R"([{"name": "a b"},
                   {"name": "n", "type": "INPUT_TYPE_NUMBER", "default": "3"},
                   {"name": "r", "required": true, "default": 1},
                   {"name": "n"},
                   {"name": "t", "type": 9}])"),
      ElementsAre(
          HasSubstr("inputs[0].name: input name \"a b\" is not a variable "
                    "name"),
          "inputs[1].default: is a string, but the input is declared a "
          "number",
          "inputs[2].default: a required input has no default; drop the "
          "default, or required",
          HasSubstr("inputs[3].name: input \"n\" is declared twice (also "
                    "inputs[1])"),
          HasSubstr("inputs[4].type: unknown type 9")));
}

TEST(InputsTest, TheValidatorBoundsDeclarationsAndDefaults) {
  v1::TaskDefinition definition = ParseOrDie(Declaring("[]"));
  MachineLimits limits;
  limits.max_inputs = 1;
  limits.max_text_bytes = 8;
  definition.add_inputs()->set_name("a");
  v1::InputDeclaration* b = definition.add_inputs();
  b->set_name("b");
  b->mutable_default_()->set_string_value("0123456789");
  std::vector<std::string> lines;
  for (const DefinitionProblem& problem :
       FindDefinitionProblems(definition, limits)) {
    lines.push_back(problem.ToString());
  }
  EXPECT_THAT(lines,
              ElementsAre("inputs: 2 input declarations; the limit is 1",
                          "inputs[1].default: 10 bytes; the limit is 8"));
}

}  // namespace
}  // namespace corosched::machine
