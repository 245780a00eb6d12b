#include "core/machine/payload.h"

#include <string>

#include "core/machine/limits.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using ::testing::HasSubstr;

google::protobuf::Struct Payload(const std::string& json) {
  google::protobuf::Struct payload;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &payload).ok())
      << json;
  return payload;
}

// name=value lines of the landed variables, values shown as emit shows them.
std::string Landed(const std::string& json, absl::string_view prefix) {
  PayloadVariables variables;
  absl::Status status =
      LandPayload(Payload(json), prefix, /*max_name_bytes=*/64, &variables);
  if (!status.ok()) return std::string(status.message());
  std::string out;
  for (const auto& [name, value] : variables) {
    out += name + "=";
    AppendValue(value, &out);
    out += "\n";
  }
  return out;
}

TEST(PayloadTest, EachTopLevelFieldLandsWithItsWholeValue) {
  EXPECT_EQ(Landed(R"({"by": "ana", "user": {"id": 7}, "tags": ["a", "b"],
                       "note": null, "n": 2, "ok": true})",
                   "signal."),
            "signal.by=ana\n"
            "signal.n=2\n"
            "signal.note=null\n"
            "signal.ok=true\n"
            "signal.tags=[\"a\",\"b\"]\n"
            "signal.user={\"id\":7}\n");
}

TEST(PayloadTest, AnEmptyPrefixLandsFieldsAtTopLevel) {
  EXPECT_EQ(Landed(R"({"by": "ana"})", ""), "by=ana\n");
}

TEST(PayloadTest, ScalarsLandAsTheirOwnKinds) {
  PayloadVariables variables;
  ASSERT_TRUE(
      LandPayload(Payload(R"({"n": 2, "s": "x"})"), "p.", 64, &variables).ok());
  ASSERT_EQ(variables.size(), 2u);
  EXPECT_EQ(variables[0].second, Value(2.0));
  EXPECT_EQ(variables[1].second, Value(std::string("x")));
}

TEST(PayloadTest, RefusesWhatATaskCannotHoldNamingTheField) {
  const std::string deep = std::string(kMaxValueDepth + 1, '[') + "1" +
                           std::string(kMaxValueDepth + 1, ']');
  EXPECT_THAT(Landed(R"({"d": )" + deep + "}", "signal."),
              HasSubstr("payload field \"signal.d\": at [0][0]"));
  EXPECT_THAT(Landed(R"({"bad key": 1})", "signal."),
              HasSubstr("payload field \"signal.bad key\" cannot be a "
                        "variable name"));
  EXPECT_THAT(Landed(R"({")" + std::string(60, 'x') + R"(": 1})", "signal."),
              HasSubstr("makes a variable name of 67 bytes; the limit is 64"));
  google::protobuf::Struct nan = Payload(R"({"a": {"b": [0]}})");
  (*nan.mutable_fields())["a"]
      .mutable_struct_value()
      ->mutable_fields()
      ->at("b")
      .mutable_list_value()
      ->mutable_values(0)
      ->set_number_value(std::numeric_limits<double>::quiet_NaN());
  PayloadVariables variables;
  absl::Status status = LandPayload(nan, "signal.", 64, &variables);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("payload field \"signal.a\": at .b[0]: NaN"));
}

}  // namespace
}  // namespace corosched::machine
