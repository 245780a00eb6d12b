#include "client/cli/values.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

using ::testing::HasSubstr;

v1::Value Var(absl::string_view assignment, absl::string_view name = "") {
  auto parsed = ParseVariable(assignment);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return {};
  if (!name.empty()) EXPECT_EQ(parsed->first, name);
  return parsed->second;
}

std::string VarError(absl::string_view assignment) {
  auto parsed = ParseVariable(assignment);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(ParseVariableTest, ReadsNumbers) {
  EXPECT_EQ(Var("n=3", "n").number(), 3);
  EXPECT_EQ(Var("n=-2.5").number(), -2.5);
  EXPECT_EQ(Var("n=1e3").number(), 1000);
  EXPECT_EQ(Var("n=0").number(), 0);
  EXPECT_EQ(Var("n=3").kind_case(), v1::Value::kNumber);
}

TEST(ParseVariableTest, ReadsBools) {
  EXPECT_TRUE(Var("ok=true").bool_());
  EXPECT_EQ(Var("ok=false").kind_case(), v1::Value::kBool);
  EXPECT_FALSE(Var("ok=false").bool_());
}

TEST(ParseVariableTest, ReadsEverythingElseAsText) {
  EXPECT_EQ(Var("item=laptop", "item").string(), "laptop");
  EXPECT_EQ(Var("note=two words").string(), "two words");
  EXPECT_EQ(Var("empty=").string(), "");
  EXPECT_EQ(Var("empty=").kind_case(), v1::Value::kString);
  EXPECT_EQ(Var("eq=a=b").string(), "a=b");  // split at the first '='
  // Not JSON numbers, so text: a leading zero, a plus sign, hex, "True".
  EXPECT_EQ(Var("zip=01234").string(), "01234");
  EXPECT_EQ(Var("n=+1").string(), "+1");
  EXPECT_EQ(Var("n=0x1f").string(), "0x1f");
  EXPECT_EQ(Var("n=1.").string(), "1.");
  EXPECT_EQ(Var("b=True").string(), "True");
}

TEST(ParseVariableTest, QuotesForceText) {
  EXPECT_EQ(Var(R"(id="42")").string(), "42");
  EXPECT_EQ(Var(R"(flag="true")").string(), "true");
  EXPECT_EQ(Var(R"(s="a \"b\"\n")").string(), "a \"b\"\n");
  EXPECT_EQ(Var(R"(s="")").string(), "");
  EXPECT_THAT(VarError(R"(s="\q")"), HasSubstr("not a JSON string literal"));
}

TEST(ParseVariableTest, RefusesWhatAVariableCannotHold) {
  EXPECT_THAT(VarError("x=null"),
              HasSubstr("pass JSON with --var-json x='null'"));
  EXPECT_THAT(VarError("x=[1]"), HasSubstr("--var x='\"[1]\"'"));
  EXPECT_THAT(VarError("x={}"), HasSubstr("not {}"));
  EXPECT_THAT(VarError("n=1e999"), HasSubstr("out of range"));
  EXPECT_EQ(VarError("=3"), "expected NAME=VALUE, got \"=3\"");
  EXPECT_EQ(VarError("n"), "expected NAME=VALUE, got \"n\"");
}

TEST(ParseJsonVariableTest, ReadsAnyJsonValue) {
  auto order = ParseJsonVariable(R"(order={"sku": "A1", "qty": [1, 2]})");
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->first, "order");
  ASSERT_TRUE(order->second.has_json());
  const auto& fields = order->second.json().struct_value().fields();
  EXPECT_EQ(fields.at("sku").string_value(), "A1");
  EXPECT_EQ(fields.at("qty").list_value().values(1).number_value(), 2);
  auto none = ParseJsonVariable("none=null");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->second.json().has_null_value());
}

TEST(ParseJsonVariableTest, JsonScalarsBecomeTheirOwnKinds) {
  EXPECT_EQ(ParseJsonVariable("n=3")->second.number(), 3);
  EXPECT_EQ(ParseJsonVariable(R"(s="01234")")->second.string(), "01234");
  EXPECT_TRUE(ParseJsonVariable("b=true")->second.bool_());
}

TEST(ParseJsonVariableTest, RefusesMalformedJson) {
  auto bad = ParseJsonVariable("order={\"sku\": }");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("order: malformed JSON"));
  EXPECT_THAT(ParseJsonVariable("word=laptop").status().message(),
              HasSubstr("for plain text use --var word=TEXT"));
  EXPECT_FALSE(ParseJsonVariable("=1").ok());
}

TEST(ParseLabelTest, SplitsAtTheFirstEquals) {
  auto label = ParseLabel("team=a=b");
  ASSERT_TRUE(label.ok());
  EXPECT_EQ(label->first, "team");
  EXPECT_EQ(label->second, "a=b");
  EXPECT_EQ(ParseLabel("team").status().message(),
            "expected KEY=VALUE, got \"team\"");
}

TEST(ParseTaskStatusTest, AcceptsAnyCaseWithOrWithoutPrefix) {
  EXPECT_EQ(ParseTaskStatus("awaiting").value(), v1::TASK_STATUS_AWAITING);
  EXPECT_EQ(ParseTaskStatus("COMPLETED").value(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(ParseTaskStatus("task_status_failed").value(),
            v1::TASK_STATUS_FAILED);
  EXPECT_FALSE(ParseTaskStatus("unspecified").ok());
  EXPECT_FALSE(ParseTaskStatus("").ok());
  EXPECT_THAT(std::string(ParseTaskStatus("done").status().message()),
              HasSubstr("ready, sleeping, awaiting, completed, failed, "
                        "cancelled"));
}

TEST(ParseDurationTest, NeedsAPositiveDurationWithAUnit) {
  EXPECT_EQ(ParseDuration("10s").value(), absl::Seconds(10));
  EXPECT_EQ(ParseDuration("500ms").value(), absl::Milliseconds(500));
  EXPECT_EQ(ParseDuration("1h30m").value(), absl::Minutes(90));
  for (absl::string_view bad : {"10", "0s", "-1s", "inf", "soon", ""}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

TEST(ParsePageSizeTest, AcceptsOneToAThousand) {
  EXPECT_EQ(ParsePageSize("1").value(), 1);
  EXPECT_EQ(ParsePageSize("1000").value(), 1000);
  for (absl::string_view bad : {"0", "1001", "-5", "ten", ""}) {
    EXPECT_FALSE(ParsePageSize(bad).ok()) << bad;
  }
}

TEST(ParseSequenceTest, AcceptsZeroAndUp) {
  EXPECT_EQ(ParseSequence("0").value(), 0u);
  EXPECT_EQ(ParseSequence("18446744073709551615").value(), UINT64_MAX);
  for (absl::string_view bad : {"-1", "+1", "x", "", "18446744073709551616"}) {
    EXPECT_FALSE(ParseSequence(bad).ok()) << bad;
  }
}

TEST(TaskStatusNameTest, DropsThePrefix) {
  EXPECT_EQ(TaskStatusName(v1::TASK_STATUS_CANCELLED), "CANCELLED");
}

}  // namespace
}  // namespace corosched::cli
