#include "core/machine/value.h"

#include <string>

#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

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
}

}  // namespace
}  // namespace corosched::machine
