#include "core/quote.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(QuoteInputTest, QuotesShortInputWhole) {
  EXPECT_EQ(QuoteInput("job-7"), "\"job-7\"");
  EXPECT_EQ(QuoteInput(""), "\"\"");
  EXPECT_EQ(QuoteInput(std::string(kMaxQuotedInputBytes, 'a')),
            "\"" + std::string(kMaxQuotedInputBytes, 'a') + "\"");
}

TEST(QuoteInputTest, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(QuoteInput("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\x01\"");
}

TEST(QuoteInputTest, CutsLongInputAndSaysItsLength) {
  const std::string quoted = QuoteInput(std::string(10240, 'x'));
  EXPECT_EQ(quoted, "\"" + std::string(kMaxQuotedInputBytes, 'x') +
                        "...\" (10240 bytes)");
}

TEST(QuoteInputTest, StaysBoundedForInputThatIsAllEscapes) {
  const std::string quoted = QuoteInput(std::string(1 << 20, '\x01'));
  EXPECT_LE(quoted.size(), 4 * kMaxQuotedInputBytes + 32);
  EXPECT_THAT(quoted, StartsWith("\"\\x01\\x01"));
  EXPECT_THAT(quoted, HasSubstr("(1048576 bytes)"));
}

}  // namespace
}  // namespace corosched
