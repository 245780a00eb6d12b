#include "core/machine/definition_json.h"

#include <string>

#include "core/machine/test_definitions.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ParseError(absl::string_view json,
                       const MachineLimits& limits = {}) {
  absl::StatusOr<v1::TaskDefinition> definition =
      ParseDefinitionJson(json, limits);
  EXPECT_FALSE(definition.ok()) << json;
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(definition.status().message());
}

TEST(DefinitionJsonTest, ParsesTheSeedExampleAsWritten) {
  absl::StatusOr<v1::TaskDefinition> hello =
      ParseDefinitionJson(testing::kHelloJson);
  ASSERT_TRUE(hello.ok()) << hello.status();
  EXPECT_EQ(hello->name(), "hello");
  EXPECT_EQ(hello->initial(), "HELLO");
  ASSERT_EQ(hello->states_size(), 3);
  EXPECT_EQ(hello->states().at("HELLO").emit(), "Hello, ");
  EXPECT_EQ(hello->states().at("HELLO").yield().next(), "WORLD");
  EXPECT_EQ(hello->states().at("WORLD").emit(), "World!\n");
  EXPECT_TRUE(hello->states().at("END").has_complete());
  EXPECT_FALSE(hello->has_signal_prefix());
}

TEST(DefinitionJsonTest, RoundTripsThroughJson) {
  v1::TaskDefinition hello = testing::ParseOrDie(testing::kHelloJson);
  absl::StatusOr<v1::TaskDefinition> again =
      ParseDefinitionJson(DefinitionToJson(hello));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(*again, hello));
}

TEST(DefinitionJsonTest, NamesAnUnknownFieldByStateAndListsTheRealOnes) {
  EXPECT_THAT(
      ParseError(R"({"name": "t", "states": {"A": {"complete": {}},
                    "B": {"yeild": {"next": "A"}}}})"),
      AllOf(HasSubstr("states[\"B\"]: unknown field \"yeild\"; State has "
                      "fields emit, actions, yield, sleep, await, choice, "
                      "complete, fail"),
            HasSubstr("docs/task-definitions.md")));
  EXPECT_THAT(ParseError(R"({"name": "t", "nmae": "x"})"),
              HasSubstr("unknown field \"nmae\"; TaskDefinition has fields "
                        "name, version"));
  EXPECT_THAT(ParseError(R"({"states": {"A": {"actions": [
                           {"set": {"variabel": "x"}}]}}})"),
              HasSubstr("states[\"A\"].actions[0].set: unknown field "
                        "\"variabel\"; SetVariable has fields variable, "
                        "value, copyOf"));
}

TEST(DefinitionJsonTest, ExplainsBadValues) {
  EXPECT_THAT(ParseError(R"({"states": {"A": {"sleep": {"duration": "2m"}}}})"),
              AllOf(HasSubstr("states[\"A\"].sleep.duration: invalid value"),
                    HasSubstr("expected a duration: seconds as a string, e.g. "
                              "\"1.5s\"")));
  EXPECT_THAT(ParseError(R"({"name": 5})"),
              HasSubstr("name: invalid value 5; expected a string"));
  EXPECT_THAT(ParseError(R"({"states": {"A": {"choice": {"when": [
                           {"variable": "x", "lessThan": 3}]}}}})"),
              HasSubstr("states[\"A\"].choice.when[0].lessThan: invalid value "
                        "3; expected an object with fields string, number, "
                        "bool, variable"));
}

TEST(DefinitionJsonTest, RejectsTwoSuspensionsInOneState) {
  EXPECT_THAT(ParseError(R"({"states": {"A": {"complete": {}, "fail": {}}}})"),
              HasSubstr("states[\"A\"]"));
}

TEST(DefinitionJsonTest, RejectsDuplicateStateNames) {
  EXPECT_THAT(ParseError(R"({"states": {"A": {"complete": {}},
                                        "A": {"fail": {}}}})"),
              HasSubstr("key 'A' appears twice; every name in a map must be "
                        "unique"));
}

TEST(DefinitionJsonTest, RejectsMalformedJson) {
  EXPECT_THAT(ParseError(R"({"name": "x" "initial": "y"})"),
              HasSubstr("Expected , or } after key:value pair"));
  EXPECT_THAT(ParseError(""), HasSubstr("Unexpected end of string"));
  EXPECT_THAT(ParseError("[]"), HasSubstr("Root element must be a message"));
}

TEST(DefinitionJsonTest, RejectsOversizedText) {
  MachineLimits limits;
  limits.max_definition_json_bytes = 64;
  EXPECT_THAT(ParseError(testing::kHelloJson, limits),
              HasSubstr("task definition JSON is 199 bytes; the limit is 64"));
}

TEST(DefinitionJsonTest, LoadValidatesToo) {
  absl::StatusOr<v1::TaskDefinition> loaded = LoadDefinitionJson(
      R"({"name": "t", "initial": "A", "states": {"A": {"yield": {}}}})");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("states[\"A\"].yield.next: missing"));
  EXPECT_TRUE(LoadDefinitionJson(testing::kHelloJson).ok());
}

}  // namespace
}  // namespace corosched::machine
