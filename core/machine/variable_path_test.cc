#include "core/machine/variable_path.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using ::testing::HasSubstr;

VariablePath PathOrDie(absl::string_view text) {
  absl::StatusOr<VariablePath> path = VariablePath::Parse(text);
  EXPECT_TRUE(path.ok()) << path.status();
  return path.ok() ? *path : VariablePath();
}

Value Json(const std::string& text) {
  google::protobuf::Value json;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &json).ok());
  return ValueFromJson(json).value();
}

// What `path` resolves to in `variables`, shown as emit shows it; "<unset>"
// when it is not set.
std::string Resolved(const Variables& variables, absl::string_view path) {
  Value scratch;
  const Value* value = PathOrDie(path).Resolve(variables, &scratch);
  if (value == nullptr) return "<unset>";
  std::string shown;
  AppendValue(*value, &shown);
  return shown;
}

TEST(VariablePathTest, ParsesNamesDotsAndIndexes) {
  for (const char* text : {"n", "signal.by", "order.items[0].sku", "a[1][22]",
                           "x-y_z.0", "m[0].n[3]"}) {
    EXPECT_TRUE(VariablePath::Parse(text).ok()) << text;
  }
}

TEST(VariablePathTest, RefusesMalformedPathsSayingWhere) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {Case{"", "a name is missing at the end"},
                        Case{"a..b", "at offset 2: expected a name"},
                        Case{"a.", "a name is missing at the end"},
                        Case{".a", "at offset 0: expected a name"},
                        Case{"a[]", "an index is digits in brackets"},
                        Case{"a[01]", "an index is digits in brackets"},
                        Case{"a[1", "an index is digits in brackets"},
                        Case{"a[-1]", "an index is digits in brackets"},
                        Case{"a[1234567890]", "an index is digits"},
                        Case{"a b", "at offset 1: unexpected character"},
                        Case{"[0]", "expected a name"}}) {
    absl::StatusOr<VariablePath> path = VariablePath::Parse(c.text);
    ASSERT_FALSE(path.ok()) << c.text;
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(path.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(VariablePathTest, WalksIntoObjectsAndLists) {
  const Variables variables = {
      {"order", Json(R"({"items": [{"sku": "A1", "qty": 2}], "id": 7})")}};
  EXPECT_EQ(Resolved(variables, "order.items[0].sku"), "A1");
  EXPECT_EQ(Resolved(variables, "order.items[0].qty"), "2");
  EXPECT_EQ(Resolved(variables, "order.items[0]"), R"({"qty":2,"sku":"A1"})");
  EXPECT_EQ(Resolved(variables, "order.id"), "7");
  EXPECT_EQ(Resolved(variables, "order"),
            R"({"id":7,"items":[{"qty":2,"sku":"A1"}]})");
}

TEST(VariablePathTest, MissingPlacesAreNotSet) {
  const Variables variables = {{"order", Json(R"({"items": [1], "n": null})")},
                               {"text", Value(std::string("abc"))}};
  EXPECT_EQ(Resolved(variables, "order.items[1]"), "<unset>");
  EXPECT_EQ(Resolved(variables, "order.missing"), "<unset>");
  EXPECT_EQ(Resolved(variables, "order.items.x"), "<unset>");
  EXPECT_EQ(Resolved(variables, "order[0]"), "<unset>");
  EXPECT_EQ(Resolved(variables, "text.length"), "<unset>");
  EXPECT_EQ(Resolved(variables, "text[0]"), "<unset>");
  EXPECT_EQ(Resolved(variables, "other"), "<unset>");
  // A null is a value: the path is set.
  EXPECT_EQ(Resolved(variables, "order.n"), "null");
}

TEST(VariablePathTest, TheLongestSetPrefixNamesTheVariable) {
  // Flat names as older tasks (and explicit sets) hold them stay readable,
  // and win over a shorter variable of the same prefix.
  const Variables variables = {
      {"signal.user.id", Value(7.0)},
      {"signal.user", Json(R"({"id": 8, "name": "ana"})")},
      {"signal", Json(R"({"user": {"id": 9, "name": "bo", "x": 1}})")}};
  EXPECT_EQ(Resolved(variables, "signal.user.id"), "7");
  EXPECT_EQ(Resolved(variables, "signal.user.name"), "ana");
  // The longest prefix decides; a shorter one is not tried after it.
  EXPECT_EQ(Resolved(variables, "signal.user.x"), "<unset>");
  EXPECT_EQ(Resolved(variables, "signal.user"), R"({"id":8,"name":"ana"})");
}

TEST(VariablePathTest, ResolvingAWholeVariablePointsIntoTheVariables) {
  const Variables variables = {{"n", Value(3.0)}};
  Value scratch;
  EXPECT_EQ(PathOrDie("n").Resolve(variables, &scratch), &variables.at("n"));
}

}  // namespace
}  // namespace corosched::machine
