#include "client/definition_json.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
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

TEST(ParseTaskDefinitionJsonTest, ParsesTheHelloExample) {
  absl::StatusOr<v1::TaskDefinition> hello =
      ParseTaskDefinitionJson(kHelloJson);
  ASSERT_TRUE(hello.ok()) << hello.status();
  EXPECT_EQ(hello->name(), "hello");
  EXPECT_EQ(hello->initial(), "HELLO");
  EXPECT_EQ(hello->states().at("WORLD").emit(), "World!\n");
  EXPECT_TRUE(hello->states().at("END").has_complete());
}

TEST(ParseTaskDefinitionJsonTest, ReportsMalformedJsonWithItsPosition) {
  absl::StatusOr<v1::TaskDefinition> definition =
      ParseTaskDefinitionJson("{\"name\": \"x\",\n \"initial\" \"A\"}");
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(definition.status().message(),
            "malformed JSON: line 2, column 12: expected ':' after the member "
            "name, found '\"'");
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
