#include "client/cli/find_program.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

using ::testing::HasSubstr;

TEST(FindProgramTest, LooksInEachDirectoryOfThePath) {
  EXPECT_EQ(FindProgram("sh", "/nonexistent:/bin").value(), "/bin/sh");
  absl::StatusOr<std::string> missing = FindProgram("sh", "/nonexistent");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("sh: not found in $PATH (/nonexistent)"));
}

TEST(FindProgramTest, TakesAPathWithASlashAsItIs) {
  EXPECT_EQ(FindProgram("/bin/sh", "").value(), "/bin/sh");
  EXPECT_EQ(FindProgram("/nonexistent/sh", "/bin").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(FindProgramTest, RefusesDirectoriesAndAnEmptyName) {
  EXPECT_EQ(FindProgram("/bin", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FindProgram("bin", "/").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FindProgram("", "/bin").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace corosched::cli
