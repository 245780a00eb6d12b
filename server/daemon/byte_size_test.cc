#include "server/daemon/byte_size.h"

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMax = uint64_t{1} << 60;

uint64_t Parsed(absl::string_view value) {
  uint64_t bytes = 12345;
  const absl::Status status = ParseByteSize(value, kMax, &bytes);
  EXPECT_TRUE(status.ok()) << value << ": " << status;
  return bytes;
}

TEST(ByteSizeTest, ParsesBytesAndBinaryUnits) {
  EXPECT_EQ(Parsed("0"), 0u);
  EXPECT_EQ(Parsed("4096"), 4096u);
  EXPECT_EQ(Parsed("7B"), 7u);
  EXPECT_EQ(Parsed("3KiB"), 3u << 10);
  EXPECT_EQ(Parsed("64MiB"), uint64_t{64} << 20);
  EXPECT_EQ(Parsed("2GiB"), uint64_t{2} << 30);
  EXPECT_EQ(Parsed("1000000TiB"), uint64_t{1000000} << 40);
}

TEST(ByteSizeTest, RefusesWhatIsNoSizeSayingWhatItTakes) {
  for (absl::string_view bad :
       {"", "MiB", "-1", "+5", "1.5GiB", "64mb", "64 M", "ten", "1PiB"}) {
    uint64_t bytes = 0;
    const absl::Status status = ParseByteSize(bad, kMax, &bytes);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("such as 0, 4096, 64MiB or 2GiB"))
        << bad;
  }
}

TEST(ByteSizeTest, RefusesSizesPastTheMaximumWithoutOverflowing) {
  uint64_t bytes = 0;
  EXPECT_FALSE(ParseByteSize("1048577TiB", kMax, &bytes).ok());
  EXPECT_FALSE(ParseByteSize("18446744073709551615TiB", kMax, &bytes).ok());
  EXPECT_TRUE(ParseByteSize("1048576TiB", kMax, &bytes).ok());
  EXPECT_EQ(bytes, kMax);
  const absl::Status status = ParseByteSize("2KiB", 1024, &bytes);
  EXPECT_THAT(status.message(), HasSubstr("at most 1 KiB"));
}

TEST(ByteSizeTest, FormatsInTheLargestWholeOrTenthUnit) {
  EXPECT_EQ(FormatByteSize(0), "0 B");
  EXPECT_EQ(FormatByteSize(1023), "1023 B");
  EXPECT_EQ(FormatByteSize(12 << 10), "12 KiB");
  EXPECT_EQ(FormatByteSize(12345), "12.1 KiB");
  EXPECT_EQ(FormatByteSize(uint64_t{64} << 20), "64 MiB");
  EXPECT_EQ(FormatByteSize(uint64_t{3} << 29), "1.5 GiB");
  EXPECT_EQ(FormatByteSize(uint64_t{1} << 60), "1048576 TiB");
}

TEST(ByteSizeTest, FlagFormReadsBackToTheSameSize) {
  EXPECT_EQ(FlagByteSize(uint64_t{8} << 20), "8MiB");
  EXPECT_EQ(FlagByteSize(uint64_t{1} << 30), "1GiB");
  EXPECT_EQ(FlagByteSize(1536), "1536");
  for (uint64_t size :
       {uint64_t{0}, uint64_t{1536}, uint64_t{64} << 20, uint64_t{3} << 40}) {
    uint64_t parsed = 1;
    ASSERT_TRUE(
        ParseByteSize(FlagByteSize(size), uint64_t{1} << 60, &parsed).ok());
    EXPECT_EQ(parsed, size);
  }
}

}  // namespace
}  // namespace corosched::server
