#include "server/tasks/request_checks.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(RequestChecksTest, TaskIdsAreShortAndPlain) {
  EXPECT_TRUE(CheckTaskId("order-17:retry.2_x", "task_id").ok());
  for (const std::string& bad : {std::string(""), std::string("has space"),
                                 std::string("a/b"), std::string(129, 'a')}) {
    absl::Status status = CheckTaskId(bad, "task_id");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("task_id: "));
  }
}

TEST(RequestChecksTest, LabelsNameTheKeyAtFault) {
  google::protobuf::Map<std::string, std::string> labels;
  labels["team"] = "a";
  labels["app.kubernetes.io/name"] = "x";
  EXPECT_TRUE(CheckLabels(labels).ok());
  labels["Bad Key"] = "x";
  absl::Status status = CheckLabels(labels);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("labels[\"Bad Key\"]"));
  labels.erase("Bad Key");
  labels["long"] = std::string(kMaxLabelValueBytes + 1, 'v');
  EXPECT_THAT(CheckLabels(labels).message(), HasSubstr("labels[\"long\"]"));
  google::protobuf::Map<std::string, std::string> many;
  for (int i = 0; i <= kMaxLabels; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_THAT(CheckLabels(many).message(), HasSubstr("the limit is"));
}

TEST(RequestChecksTest, PageSizeDefaultsAndCaps) {
  EXPECT_EQ(*PageSize(0), kDefaultPageSize);
  EXPECT_EQ(*PageSize(7), 7);
  EXPECT_EQ(*PageSize(1000000), kMaxPageSize);
  EXPECT_THAT(PageSize(-1).status().message(), HasSubstr("page_size"));
}

constexpr absl::Duration kMaxDelay = absl::Hours(24 * 30);

TEST(RequestChecksTest, StartTimeTakesAtMostOneOfTheTwo) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  v1::SubmitTaskRequest request;
  EXPECT_FALSE(StartTime(request, now, kMaxDelay)->has_value());
  request.mutable_start_after()->set_seconds(5);
  EXPECT_EQ(**StartTime(request, now, kMaxDelay), now + absl::Seconds(5));
  request.mutable_start_at()->set_seconds(2000);
  EXPECT_THAT(StartTime(request, now, kMaxDelay).status().message(),
              HasSubstr("start_at, start_after"));
  request.clear_start_after();
  EXPECT_EQ(**StartTime(request, now, kMaxDelay), absl::FromUnixSeconds(2000));
  request.clear_start_at();
  request.mutable_start_after()->set_seconds(-1);
  EXPECT_THAT(StartTime(request, now, kMaxDelay).status().message(),
              HasSubstr("start_after"));
}

TEST(RequestChecksTest, StartTimeRefusesAStartBeyondTheMaxDelay) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  v1::SubmitTaskRequest request;
  request.mutable_start_after()->set_seconds(1000000000000);
  absl::Status after = StartTime(request, now, kMaxDelay).status();
  EXPECT_EQ(after.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(after.message(),
              AllOf(HasSubstr("start_after: 1000000000000s is further ahead"),
                    HasSubstr("--max-start-delay 720h")));
  request.mutable_start_after()->set_seconds(30 * 24 * 3600);
  EXPECT_EQ(**StartTime(request, now, kMaxDelay), now + kMaxDelay);

  request.clear_start_after();
  request.mutable_start_at()->set_seconds(1000 + 30 * 24 * 3600 + 1);
  absl::Status at = StartTime(request, now, kMaxDelay).status();
  EXPECT_EQ(at.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(at.message(), AllOf(HasSubstr("start_at: 1970-01-31T"),
                                  HasSubstr("--max-start-delay 720h")));
  request.mutable_start_at()->set_seconds(1);  // in the past: at once
  EXPECT_EQ(**StartTime(request, now, kMaxDelay), absl::FromUnixSeconds(1));
}

TEST(RequestChecksTest, ALookupIdMustBeOneATaskCouldHave) {
  EXPECT_TRUE(CheckLookupId("order-17").ok());
  absl::Status empty = CheckLookupId("");
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.message(), "task_id: required");
  for (const std::string& bad : {std::string("a b"), std::string(129, 'x'),
                                 std::string("caf\xc3\xa9")}) {
    absl::Status status = CheckLookupId(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("is not a valid task id")) << bad;
  }
}

TEST(RequestChecksTest, ACancelReasonIsBounded) {
  EXPECT_TRUE(CheckCancelReason("").ok());
  EXPECT_TRUE(CheckCancelReason(std::string(kMaxCancelReasonBytes, 'r')).ok());
  absl::Status status =
      CheckCancelReason(std::string(kMaxCancelReasonBytes + 1, 'r'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("reason: 1025 bytes; the limit is 1024"));
}

TEST(RequestChecksTest, EchoedIdsAndLabelKeysAreCut) {
  const std::string id(10240, 'x');
  absl::Status bad_id = CheckTaskId(id + " ", "task_id");
  EXPECT_THAT(bad_id.message(), HasSubstr("(10241 bytes)"));
  EXPECT_LT(bad_id.message().size(), 400u);
  google::protobuf::Map<std::string, std::string> labels;
  labels[std::string(5000, 'k')] = "v";
  absl::Status bad_key = CheckLabels(labels);
  EXPECT_THAT(bad_key.message(), HasSubstr("(5000 bytes)"));
  EXPECT_LT(bad_key.message().size(), 400u);
}

}  // namespace
}  // namespace corosched::server
