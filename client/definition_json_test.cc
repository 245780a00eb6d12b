#include "client/definition_json.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kHelloJson[] =
    R"({"name": "hello", "initial": "HELLO", "states": {
  "HELLO": {"emit": "Hello, ",  "yield": {"next": "WORLD"}},
  "WORLD": {"emit": "World!\n", "yield": {"next": "END"}},
  "END":   {"complete": {}}}})";

// A file in the test's temporary directory, removed at the end.
class TempFile {
 public:
  TempFile(const std::string& name, absl::string_view contents)
      : path_(std::filesystem::path(::testing::TempDir()) / name) {
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// The INVALID_ARGUMENT message ParseTaskDefinitionJson gives for `json`.
std::string ParseError(absl::string_view json) {
  absl::StatusOr<v1::TaskDefinition> definition = ParseTaskDefinitionJson(json);
  EXPECT_FALSE(definition.ok()) << json;
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(definition.status().message());
}

TEST(ParseTaskDefinitionJsonTest, ParsesTheHelloExample) {
  absl::StatusOr<v1::TaskDefinition> hello =
      ParseTaskDefinitionJson(kHelloJson);
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

TEST(ParseTaskDefinitionJsonTest, RoundTripsThroughToJson) {
  absl::StatusOr<v1::TaskDefinition> hello =
      ParseTaskDefinitionJson(kHelloJson);
  ASSERT_TRUE(hello.ok()) << hello.status();
  for (bool pretty : {false, true}) {
    absl::StatusOr<v1::TaskDefinition> again =
        ParseTaskDefinitionJson(ToJson(*hello, pretty));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(*again, *hello));
  }
}

TEST(ParseTaskDefinitionJsonTest, ReportsMalformedJsonWithItsPosition) {
  absl::StatusOr<v1::TaskDefinition> definition =
      ParseTaskDefinitionJson("{\"name\": \"x\",\n \"initial\" \"A\"}");
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(definition.status().message(),
            "malformed JSON: line 2, column 12: expected ':' after the member "
            "name, found '\"'");
}

TEST(ParseTaskDefinitionJsonTest, ReportsMalformedJsonOfAnyShape) {
  EXPECT_EQ(ParseError(R"({"name": "x" "initial": "y"})"),
            "malformed JSON: line 1, column 14: expected ',' or '}' after an "
            "object member, found '\"'");
  EXPECT_THAT(ParseError(""), HasSubstr("found the end of the text"));
  EXPECT_THAT(ParseError("[]"),
              AllOf(StartsWith("not a task definition: "),
                    HasSubstr("Root element must be a message")));
}

TEST(ParseTaskDefinitionJsonTest, ReportsFieldsThatAreNotInTheLanguage) {
  absl::StatusOr<v1::TaskDefinition> definition =
      ParseTaskDefinitionJson(R"({"name": "x", "nmae": "y"})");
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(definition.status().message(),
              AllOf(StartsWith("not a task definition: "), HasSubstr("nmae"),
                    HasSubstr("docs/task-definitions.md")));
  EXPECT_THAT(ParseTaskDefinitionJson("[1]").status().message(),
              StartsWith("not a task definition: "));
}

TEST(ParseTaskDefinitionJsonTest,
     NamesAnUnknownFieldByStateAndListsTheRealOnes) {
  EXPECT_EQ(
      ParseError(R"({"name": "t", "states": {"A": {"complete": {}},
                    "B": {"yeild": {"next": "A"}}}})"),
      "not a task definition: states[\"B\"]: unknown field \"yeild\"; State "
      "has fields emit, actions, yield, sleep, await, choice, complete, fail, "
      "work, retry, catch (the language is described in "
      "docs/task-definitions.md)");
  EXPECT_THAT(ParseError(R"({"name": "t", "nmae": "x"})"),
              HasSubstr("unknown field \"nmae\"; TaskDefinition has fields "
                        "name, version"));
  EXPECT_THAT(ParseError(R"({"states": {"A": {"actions": [
                           {"set": {"variabel": "x"}}]}}})"),
              HasSubstr("states[\"A\"].actions[0].set: unknown field "
                        "\"variabel\"; SetVariable has fields variable, "
                        "value, copyOf"));
}

TEST(ParseTaskDefinitionJsonTest, ExplainsBadValues) {
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

TEST(ParseTaskDefinitionJsonTest, RejectsTwoSuspensionsInOneState) {
  EXPECT_THAT(ParseError(R"({"states": {"A": {"complete": {}, "fail": {}}}})"),
              HasSubstr("states[\"A\"]"));
}

TEST(ParseTaskDefinitionJsonTest, RejectsDuplicateStateNames) {
  EXPECT_THAT(ParseError(R"({"states": {"A": {"complete": {}},
                                        "A": {"fail": {}}}})"),
              HasSubstr("key 'A' appears twice; every name in a map must be "
                        "unique"));
}

TEST(ParseTaskDefinitionJsonTest, KeepsLongTextOutOfTheMessage) {
  const std::string name(1000, 'x');
  const std::string message =
      ParseError(absl::StrCat(R"({"states": {"A": {")", name, R"(": 1}}})"));
  EXPECT_THAT(message, HasSubstr("...\" (1000 bytes)"));
  EXPECT_LT(message.size(), 400);
}

TEST(LoadTaskDefinitionFileTest, LoadsAFile) {
  TempFile file("hello.json", kHelloJson);
  absl::StatusOr<v1::TaskDefinition> hello =
      LoadTaskDefinitionFile(file.path());
  ASSERT_TRUE(hello.ok()) << hello.status();
  EXPECT_EQ(hello->name(), "hello");
}

TEST(LoadTaskDefinitionFileTest, NamesAMissingFile) {
  const std::string path = ::testing::TempDir() + "/no-such-definition.json";
  absl::StatusOr<v1::TaskDefinition> definition = LoadTaskDefinitionFile(path);
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(definition.status().message(), path + ": no such file");
}

TEST(LoadTaskDefinitionFileTest, RefusesADirectory) {
  absl::StatusOr<v1::TaskDefinition> definition =
      LoadTaskDefinitionFile(::testing::TempDir());
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(definition.status().message(), HasSubstr("is a directory"));
}

TEST(LoadTaskDefinitionFileTest, PrefixesErrorsWithThePath) {
  TempFile file("broken.json", "{\"name\": \"x\",}");
  absl::StatusOr<v1::TaskDefinition> definition =
      LoadTaskDefinitionFile(file.path());
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(definition.status().message()),
            file.path() +
                ": malformed JSON: line 1, column 14: expected '\"' to start "
                "a member name, found '}'");
  TempFile empty("empty.json", "");
  EXPECT_THAT(LoadTaskDefinitionFile(empty.path()).status().message(),
              HasSubstr("found the end of the text"));
}

TEST(ParseJsonObjectTest, ParsesAnObject) {
  absl::StatusOr<google::protobuf::Struct> payload =
      ParseJsonObject(R"({"by": "ana", "n": 2, "ok": true})");
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(payload->fields().at("by").string_value(), "ana");
  EXPECT_EQ(payload->fields().at("n").number_value(), 2);
  EXPECT_TRUE(payload->fields().at("ok").bool_value());
}

TEST(ParseJsonObjectTest, RefusesOtherJsonAndMalformedText) {
  EXPECT_THAT(ParseJsonObject("[1]").status().message(),
              HasSubstr("expected a JSON object"));
  EXPECT_THAT(ParseJsonObject("{by: 1}").status().message(),
              StartsWith("malformed JSON: line 1, column 2"));
}

TEST(ToJsonTest, WritesLowerCamelCaseOnOneLine) {
  v1::TaskDefinition definition;
  definition.set_name("n");
  definition.set_signal_prefix("");
  EXPECT_EQ(ToJson(definition), R"({"name":"n","signalPrefix":""})");
  EXPECT_THAT(ToJson(definition, /*pretty=*/true), HasSubstr("\n"));
}

}  // namespace
}  // namespace corosched

namespace corosched {
namespace {

constexpr char kDeclaring[] = R"({"name": "t", "initial": "A", "inputs": [
  {"name": "item", "type": "INPUT_TYPE_STRING", "required": true,
   "description": "what"},
  {"name": "order", "type": "INPUT_TYPE_OBJECT", "default": {"qty": [1, 2]}}],
  "states": {"A": {"choice": {"when": [{"variable": "order.qty[0]",
    "equals": {"json": {"k": null}}, "next": "B"}], "otherwise": "B"}},
    "B": {"actions": [{"set": {"variable": "l", "value": {"json": [1, "a"]}}}],
          "complete": {}}}})";

TEST(ParseTaskDefinitionJsonTest, ParsesInputsAndStructuredValues) {
  absl::StatusOr<v1::TaskDefinition> parsed =
      ParseTaskDefinitionJson(kDeclaring);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->inputs_size(), 2);
  EXPECT_EQ(parsed->inputs(0).type(), v1::INPUT_TYPE_STRING);
  EXPECT_TRUE(parsed->inputs(0).required());
  EXPECT_EQ(parsed->inputs(0).description(), "what");
  EXPECT_EQ(parsed->inputs(1)
                .default_()
                .struct_value()
                .fields()
                .at("qty")
                .list_value()
                .values_size(),
            2);
  const v1::Branch& branch = parsed->states().at("A").choice().when(0);
  EXPECT_TRUE(
      branch.equals().json().struct_value().fields().at("k").has_null_value());
  EXPECT_EQ(parsed->states()
                .at("B")
                .actions(0)
                .set()
                .value()
                .json()
                .list_value()
                .values_size(),
            2);
}

TEST(ParseTaskDefinitionJsonTest, NamesTheInputFieldAtFault) {
  EXPECT_THAT(
      ParseError(
          R"({"name": "t", "inputs": [{"name": "a", "type": "STRING"}]})"),
      HasSubstr("inputs[0].type: invalid value \"STRING\"; expected one of "
                "\"INPUT_TYPE_ANY\", \"INPUT_TYPE_STRING\", "));
  EXPECT_THAT(ParseError(R"({"name": "t", "inputs": [{"nmae": "a"}]})"),
              HasSubstr("inputs[0]: unknown field \"nmae\"; InputDeclaration "
                        "has fields name, type, required, default, "
                        "description"));
}

}  // namespace
}  // namespace corosched
