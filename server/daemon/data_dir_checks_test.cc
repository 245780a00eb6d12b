#include "server/daemon/data_dir_checks.h"

#include <cstdint>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

std::string TestDir() { return std::filesystem::temp_directory_path(); }

TEST(FreeDiskTest, PassesWhenTheDiskHasTheBound) {
  EXPECT_TRUE(CheckFreeDisk(TestDir(), 1).ok());
}

TEST(FreeDiskTest, ZeroTurnsTheCheckOff) {
  EXPECT_TRUE(CheckFreeDisk("/no/such/directory", 0).ok());
}

TEST(FreeDiskTest, RefusesADiskWithLessFreeSpaceNamingDirectoryAndSizes) {
  // 1 EiB: more than any disk this test runs on has free.
  const absl::Status status = CheckFreeDisk(TestDir(), uint64_t{1} << 60);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("data directory " + TestDir()));
  EXPECT_THAT(status.message(), HasSubstr(" free, less than the 1048576 TiB "
                                          "--min-free-disk asks for"));
  EXPECT_THAT(status.message(), HasSubstr("free some space"));
}

TEST(FreeDiskTest, ADirectoryThatCannotBeReadIsUnavailable) {
  const absl::Status status = CheckFreeDisk("/no/such/directory", 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("/no/such/directory"));
}

}  // namespace
}  // namespace corosched::server
