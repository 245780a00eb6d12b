#include "server/metrics/basic_auth.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

// sha256("secret") and sha256("other"), as sha256sum prints them.
constexpr char kSecret[] =
    "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
constexpr char kOther[] =
    "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa";

class BasicAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = (std::filesystem::path(::testing::TempDir()) /
             ("basic_auth_" + std::to_string(::getpid())))
                .string();
  }
  void TearDown() override { std::filesystem::remove(file_); }

  void Write(const std::string& text) {
    std::ofstream(file_, std::ios::trunc) << text;
  }

  BasicAuthUsers::Options Options() {
    return {
        .reload_interval = absl::Seconds(10),
        .on_error = [this](const absl::Status& why) { errors_.push_back(why); },
        .now = [this] { return now_; }};
  }

  std::string file_;
  absl::Time now_ = absl::FromUnixSeconds(1000);
  std::vector<absl::Status> errors_;
};

TEST_F(BasicAuth, ChecksUserAndPasswordAgainstTheHash) {
  Write(std::string("# scrapers\n\nprometheus:") + kSecret + "\n");
  auto users = BasicAuthUsers::Load(file_, Options());
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_TRUE((*users)->Check("prometheus", "secret"));
  EXPECT_FALSE((*users)->Check("prometheus", "Secret"));
  EXPECT_FALSE((*users)->Check("prometheus", ""));
  EXPECT_FALSE((*users)->Check("grafana", "secret"));
}

TEST_F(BasicAuth, ABadLineIsNamed) {
  EXPECT_THAT(ParseBasicAuthFile("a:" + std::string(kSecret) + "\nb:abc\n")
                  .status()
                  .message(),
              HasSubstr("line 2 is not user:SHA256HEX"));
  EXPECT_THAT(ParseBasicAuthFile(std::string(":") + kSecret).status().message(),
              HasSubstr("line 1"));
  EXPECT_THAT(ParseBasicAuthFile("# nobody\n").status().message(),
              HasSubstr("lists no user"));
  Write("prometheus:secret\n");
  auto users = BasicAuthUsers::Load(file_, Options());
  EXPECT_EQ(users.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(users.status().message(),
              HasSubstr("--metrics-basic-auth " + file_ + ": line 1"));
}

TEST_F(BasicAuth, AMissingFileIsRefused) {
  auto users = BasicAuthUsers::Load(file_ + ".absent", Options());
  EXPECT_EQ(users.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(users.status().message(), HasSubstr("cannot read"));
}

TEST_F(BasicAuth, AChangedFileIsReadOnceTheIntervalHasPassed) {
  Write(std::string("prometheus:") + kSecret + "\n");
  auto users = BasicAuthUsers::Load(file_, Options());
  ASSERT_TRUE(users.ok()) << users.status();
  Write(std::string("prometheus:") + kOther + "\n");
  now_ += absl::Seconds(9);
  EXPECT_TRUE((*users)->Check("prometheus", "secret"));
  now_ += absl::Seconds(1);
  EXPECT_FALSE((*users)->Check("prometheus", "secret"));
  EXPECT_TRUE((*users)->Check("prometheus", "other"));
  EXPECT_TRUE(errors_.empty());
}

TEST_F(BasicAuth, ABadNewFileKeepsThePreviousUsersAndIsReportedOnce) {
  Write(std::string("prometheus:") + kSecret + "\n");
  auto users = BasicAuthUsers::Load(file_, Options());
  ASSERT_TRUE(users.ok()) << users.status();
  Write("prometheus:oops\n");
  now_ += absl::Seconds(10);
  EXPECT_TRUE((*users)->Check("prometheus", "secret"));
  now_ += absl::Seconds(10);
  EXPECT_TRUE((*users)->Check("prometheus", "secret"));
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_THAT(errors_[0].message(), HasSubstr("line 1"));
}

}  // namespace
}  // namespace corosched::server
