#include "server/auth/denial_log.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

Denial Refused() {
  return {.status = absl::PermissionDeniedError("\"ci\" has no submit role"),
          .role = Role::kSubmit,
          .namespace_name = "a",
          .principal = "ci",
          .peer = "ipv4:127.0.0.1:5000"};
}

TEST(DenialLogTest, WritesOneKeyValueLinePerDenial) {
  ManualClock clock;
  std::vector<std::string> lines;
  DenialLog log(clock, [&](const std::string& line) { lines.push_back(line); });
  log.Record(Refused());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "event=auth_denied code=permission_denied role=submit "
            "namespace=a principal=ci peer=ipv4:127.0.0.1:5000 "
            "reason=\"\\\"ci\\\" has no submit role\"");
}

TEST(DenialLogTest, WritesAtMostTheLimitPerSecondAndCountsTheRest) {
  ManualClock clock;
  std::vector<std::string> lines;
  DenialLog log(
      clock, [&](const std::string& line) { lines.push_back(line); },
      /*max_lines_per_second=*/2);
  for (int i = 0; i < 7; ++i) log.Record(Refused());
  EXPECT_EQ(lines.size(), 2u);
  clock.Advance(absl::Seconds(1));
  log.Record(Refused());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], HasSubstr(" suppressed=5"));
  log.Record(Refused());
  EXPECT_THAT(lines[3], ::testing::Not(HasSubstr("suppressed")));
}

TEST(CodeLabelTest, SpellsCodesInSnakeCase) {
  EXPECT_EQ(CodeLabel(absl::StatusCode::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(CodeLabel(absl::StatusCode::kResourceExhausted),
            "resource_exhausted");
}

}  // namespace
}  // namespace corosched::server
