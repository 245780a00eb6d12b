#include "client/json_syntax.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::testing::HasSubstr;

std::string SyntaxError(absl::string_view text) {
  absl::Status status = CheckJsonSyntax(text);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
  return std::string(status.message());
}

TEST(CheckJsonSyntaxTest, AcceptsWellFormedJson) {
  for (absl::string_view text :
       {R"({"a": [1, -2.5e3, 0, true, false, null, "x\n\u00e9"], "b": {}})",
        "[]", " 3 ", "\"s\"", "{\n \"n\": -0.0E+1\n}\n"}) {
    EXPECT_TRUE(CheckJsonSyntax(text).ok()) << text;
  }
}

TEST(CheckJsonSyntaxTest, ReportsLineAndColumnOfAMissingComma) {
  EXPECT_EQ(SyntaxError("{\"name\": \"hello\",\n  \"initial\": \"A\"\n  "
                        "\"states\": {}}"),
            "line 3, column 3: expected ',' or '}' after an object member, "
            "found '\"'");
}

TEST(CheckJsonSyntaxTest, ExplainsCommonMistakes) {
  EXPECT_EQ(SyntaxError(R"({"a": 1,})"),
            "line 1, column 9: expected '\"' to start a member name, found "
            "'}'");
  EXPECT_EQ(SyntaxError("{'a': 1}"),
            "line 1, column 2: expected '\"' to start a member name, found "
            "'''");
  EXPECT_EQ(SyntaxError(R"({"a" 1})"),
            "line 1, column 6: expected ':' after the member name, found '1'");
  EXPECT_EQ(SyntaxError(R"([1, 2)"),
            "line 1, column 6: expected ',' or ']' after an array element, "
            "found the end of the text");
  EXPECT_EQ(SyntaxError(R"({"a": tru})"),
            "line 1, column 10: expected 'true', found '}'");
  EXPECT_EQ(SyntaxError(R"({"a": "open)"),
            "line 1, column 12: expected '\"' to close the string, found the "
            "end of the text");
  EXPECT_EQ(SyntaxError(""),
            "line 1, column 1: expected a value (object, array, string, "
            "number, true, false or null), found the end of the text");
  EXPECT_EQ(SyntaxError("{} {}"),
            "line 1, column 4: expected the end of the text after the JSON "
            "value, found '{'");
}

TEST(CheckJsonSyntaxTest, RefusesNumbersJsonDoesNotAllow) {
  EXPECT_THAT(SyntaxError("[01]"), HasSubstr("column 3"));
  EXPECT_THAT(SyntaxError("[1.]"), HasSubstr("expected a digit"));
  EXPECT_THAT(SyntaxError("[+1]"), HasSubstr("expected a value"));
  EXPECT_THAT(SyntaxError("[1e]"), HasSubstr("expected a digit"));
}

TEST(CheckJsonSyntaxTest, RefusesBadEscapesAndControlCharacters) {
  EXPECT_THAT(SyntaxError(R"(["\x"])"), HasSubstr("expected an escape"));
  EXPECT_THAT(SyntaxError(R"(["\u12G4"])"),
              HasSubstr("expected 4 hex digits after \\u"));
  EXPECT_THAT(SyntaxError("[\"a\tb\"]"),
              HasSubstr("column 4: expected '\"' to close the string, found "
                        "byte 0x09"));
}

TEST(CheckJsonSyntaxTest, RefusesDeepNestingWithoutRecursingForever) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT(SyntaxError(deep), HasSubstr("nesting deeper than 256 levels"));
  const std::string fine = std::string(200, '[') + std::string(200, ']');
  EXPECT_TRUE(CheckJsonSyntax(fine).ok());
}

}  // namespace
}  // namespace corosched
