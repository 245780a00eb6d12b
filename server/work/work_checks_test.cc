#include "server/work/work_checks.h"

#include <string>

#include "gtest/gtest.h"
#include "server/work/work_token.h"

namespace corosched::server {
namespace {

TEST(WorkChecksTest, AcceptsQueueNamesOfLettersDigitsAndPunctuation) {
  for (const std::string& name :
       {std::string("jobs"), std::string("img-resize_v2.eu"),
        std::string(64, 'q')}) {
    EXPECT_TRUE(ValidateQueueName(name).ok()) << name;
  }
}

TEST(WorkChecksTest, AcceptsNamespacedQueueKeys) {
  EXPECT_TRUE(ValidateQueueKey("emails").ok());
  EXPECT_TRUE(ValidateQueueKey("team-b/emails").ok());
  EXPECT_TRUE(
      ValidateQueueKey(std::string(64, 'n') + "/" + std::string(64, 'q')).ok());
  // A client's name has no namespace part.
  EXPECT_FALSE(ValidateQueueName("team-b/emails").ok());
}

TEST(WorkChecksTest, RefusesOtherQueueNames) {
  for (const std::string& name :
       {std::string(), std::string(65, 'q'), std::string("a b"),
        std::string("a/b/c"), std::string("/b"), std::string("a/"),
        std::string("a b/c"), std::string(65, 'n') + "/q",
        std::string("caf\xc3\xa9"), std::string("a\0b", 3)}) {
    absl::Status status = ValidateQueueKey(name);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(status.message().substr(0, 6), "queue:");
  }
}

TEST(WorkChecksTest, RefusesBadSpecs) {
  WorkSpec good;
  good.task_id = "t";
  good.queue = "jobs";
  good.timeout = absl::Minutes(1);
  ASSERT_TRUE(ValidateWorkSpec(good).ok());
  WorkSpec no_id = good;
  no_id.task_id.clear();
  WorkSpec long_id = good;
  long_id.task_id = std::string(WorkToken::kMaxTaskIdBytes + 1, 't');
  WorkSpec attempt_zero = good;
  attempt_zero.attempt = 0;
  WorkSpec negative = good;
  negative.heartbeat = absl::Seconds(-1);
  WorkSpec unbounded = good;
  unbounded.timeout = absl::ZeroDuration();
  for (const WorkSpec& bad :
       {no_id, long_id, attempt_zero, negative, unbounded}) {
    EXPECT_EQ(ValidateWorkSpec(bad).code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(WorkChecksTest, BoundsPollsAndFailures) {
  EXPECT_TRUE(ValidatePoll(0, absl::ZeroDuration()).ok());
  EXPECT_TRUE(ValidatePoll(100, absl::Seconds(60)).ok());
  EXPECT_FALSE(ValidatePoll(101, absl::Seconds(1)).ok());
  EXPECT_FALSE(ValidatePoll(1, absl::Seconds(61)).ok());
  EXPECT_FALSE(ValidatePoll(1, absl::Seconds(-1)).ok());
  EXPECT_TRUE(ValidateFailure("E", "").ok());
  EXPECT_FALSE(ValidateFailure("", "m").ok());
  EXPECT_FALSE(ValidateFailure(std::string(129, 'e'), "").ok());
  EXPECT_FALSE(ValidateFailure("E", std::string(32 * 1024 + 1, 'm')).ok());
  EXPECT_FALSE(ValidateWorkerIdentity(std::string(257, 'w')).ok());
}

}  // namespace
}  // namespace corosched::server
