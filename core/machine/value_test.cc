#include "core/machine/value.h"

#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using ::testing::HasSubstr;

google::protobuf::Value Json(const std::string& text) {
  google::protobuf::Value json;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &json).ok())
      << text;
  return json;
}

Value FromJsonOrDie(const std::string& text) {
  absl::StatusOr<Value> value = ValueFromJson(Json(text));
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : Value();
}

// `depth` lists nested in one another around a 1.
std::string NestedLists(int depth) {
  return std::string(depth, '[') + "1" + std::string(depth, ']');
}

std::string Shown(const Value& value) {
  std::string out;
  AppendValue(value, &out);
  return out;
}

TEST(ValueTest, ShowsValuesTheWayEmitDoes) {
  EXPECT_EQ(Shown(Value(std::string("text"))), "text");
  EXPECT_EQ(Shown(Value(true)), "true");
  EXPECT_EQ(Shown(Value(false)), "false");
  EXPECT_EQ(Shown(Value(3.0)), "3");
  EXPECT_EQ(Shown(Value(-42.0)), "-42");
  EXPECT_EQ(Shown(Value(0.1)), "0.1");
  EXPECT_EQ(Shown(Value(1.5)), "1.5");
  EXPECT_EQ(Shown(Value(1e20)), "1e+20");
  EXPECT_EQ(Shown(Value(9007199254740991.0)), "9007199254740991");
}

TEST(ValueTest, RoundTripsThroughProto) {
  for (const Value& value :
       {Value(std::string("x")), Value(2.5), Value(true)}) {
    EXPECT_EQ(ValueFromProto(ValueToProto(value)), value);
  }
  EXPECT_FALSE(ValueFromProto(v1::Value()).has_value());
}

TEST(ValueTest, NamesTypes) {
  EXPECT_EQ(TypeName(Value(std::string())), "string");
  EXPECT_EQ(TypeName(Value(1.0)), "number");
  EXPECT_EQ(TypeName(Value(false)), "bool");
  EXPECT_EQ(TypeName(FromJsonOrDie("null")), "null");
  EXPECT_EQ(TypeName(FromJsonOrDie("[1]")), "list");
  EXPECT_EQ(TypeName(FromJsonOrDie("{}")), "object");
}

TEST(ValueTest, ShowsStructuredValuesAsCompactJsonWithSortedKeys) {
  EXPECT_EQ(Shown(FromJsonOrDie("null")), "null");
  EXPECT_EQ(Shown(FromJsonOrDie("[]")), "[]");
  EXPECT_EQ(Shown(FromJsonOrDie(R"({"b": [1, 0.5, true], "a": null,
                                     "c": {"z": "x\"y", "y": "\n"}})")),
            R"({"a":null,"b":[1,0.5,true],"c":{"y":"\n","z":"x\"y"}})");
  EXPECT_EQ(Shown(FromJsonOrDie(R"(["\u0001", 3e20])")), R"(["\u0001",3e+20])");
  EXPECT_EQ(ValueBytes(FromJsonOrDie(R"({"a": [1, 2]})")), 11u);
}

TEST(ValueTest, JsonScalarsBecomeTheirOwnKinds) {
  EXPECT_EQ(FromJsonOrDie(R"("text")"), Value(std::string("text")));
  EXPECT_EQ(FromJsonOrDie("2.5"), Value(2.5));
  EXPECT_EQ(FromJsonOrDie("true"), Value(true));
  v1::Value proto;
  *proto.mutable_json() = Json("7");
  EXPECT_EQ(ValueFromProto(proto), Value(7.0));
  EXPECT_EQ(ValueToProto(Value(7.0)).kind_case(), v1::Value::kNumber);
}

TEST(ValueTest, ComparesStructuredValuesDeeply) {
  EXPECT_EQ(FromJsonOrDie(R"({"a": [1, {"b": null}], "c": "x"})"),
            FromJsonOrDie(R"({"c": "x", "a": [1, {"b": null}]})"));
  EXPECT_NE(FromJsonOrDie(R"({"a": [1, 2]})"),
            FromJsonOrDie(R"({"a": [2, 1]})"));
  EXPECT_NE(FromJsonOrDie(R"({"a": 1})"), FromJsonOrDie(R"({"a": 1, "b": 1})"));
  EXPECT_NE(FromJsonOrDie("[1]"), FromJsonOrDie(R"(["1"])"));
  EXPECT_EQ(FromJsonOrDie("null"), FromJsonOrDie("null"));
  EXPECT_NE(FromJsonOrDie("[]"), FromJsonOrDie("{}"));
}

TEST(ValueTest, RoundTripsStructuredValuesThroughProto) {
  for (const char* text : {"null", "[1, [2, []]]", R"({"k": {"l": [true]}})"}) {
    const Value value = FromJsonOrDie(text);
    const v1::Value proto = ValueToProto(value);
    EXPECT_EQ(proto.kind_case(), v1::Value::kJson) << text;
    EXPECT_EQ(ValueFromProto(proto), value) << text;
  }
}

TEST(ValueTest, RefusesNotFiniteNumbersInsideStructures) {
  google::protobuf::Value json = Json(R"({"a": [1, 2]})");
  (*json.mutable_struct_value()->mutable_fields())["a"]
      .mutable_list_value()
      ->mutable_values(1)
      ->set_number_value(std::numeric_limits<double>::infinity());
  absl::StatusOr<Value> value = ValueFromJson(json);
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(value.status().message(),
              HasSubstr("at .a[1]: NaN and infinities"));
  v1::Value proto;
  proto.set_number(std::numeric_limits<double>::quiet_NaN());
  EXPECT_FALSE(ParseValue(proto).ok());
}

TEST(ValueTest, BoundsTheDepthOfLists) {
  EXPECT_TRUE(ValueFromJson(Json(NestedLists(kMaxValueDepth))).ok());
  absl::StatusOr<Value> deep =
      ValueFromJson(Json(NestedLists(kMaxValueDepth + 1)));
  EXPECT_EQ(deep.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(deep.status().message(), HasSubstr("nest more than 32 deep"));
}

TEST(ValueTest, RefusesAJsonValueWithNoKind) {
  v1::Value proto;
  proto.mutable_json();
  EXPECT_THAT(ParseValue(proto).status().message(), HasSubstr("no kind"));
  EXPECT_THAT(ParseValue(v1::Value()).status().message(),
              HasSubstr("has no value"));
}

}  // namespace
}  // namespace corosched::machine
