#include "server/tasks/namespace_admission.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(NamespaceAdmissionTest, BoundsUnfinishedTasksPerNamespace) {
  ManualClock clock;
  NamespaceAdmission admission(clock, {.max_tasks = 2});
  absl::StatusOr<NamespaceSlot> first = admission.Admit("a");
  absl::StatusOr<NamespaceSlot> second = admission.Admit("a");
  ASSERT_TRUE(first.ok() && second.ok());
  NamespaceRefusal why = NamespaceRefusal::kNone;
  absl::StatusOr<NamespaceSlot> third = admission.Admit("a", &why);
  EXPECT_EQ(why, NamespaceRefusal::kBound);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.status().message(), HasSubstr("\"a\""));
  EXPECT_THAT(third.status().message(), HasSubstr("--namespace-max-tasks"));
  // Another namespace has a bound of its own.
  EXPECT_TRUE(admission.Admit("b").ok());
  EXPECT_EQ(admission.Unfinished("a"), 2u);
  // A task ends: its slot goes, and one more may start.
  *first = NamespaceSlot();
  EXPECT_EQ(admission.Unfinished("a"), 1u);
  EXPECT_TRUE(admission.Admit("a").ok());
}

TEST(NamespaceAdmissionTest, ZeroMeansNoBound) {
  ManualClock clock;
  NamespaceAdmission admission(clock, {});
  std::vector<NamespaceSlot> slots;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<NamespaceSlot> slot = admission.Admit("a");
    ASSERT_TRUE(slot.ok()) << i;
    slots.push_back(*std::move(slot));
  }
  EXPECT_EQ(admission.Unfinished("a"), 1000u);
  slots.clear();
  EXPECT_EQ(admission.Unfinished("a"), 0u);
}

TEST(NamespaceAdmissionTest, RestoredTasksCountButAreNeverRefused) {
  ManualClock clock;
  NamespaceAdmission admission(clock, {.max_tasks = 1});
  NamespaceSlot one = admission.Restore("a");
  NamespaceSlot two = admission.Restore("a");
  EXPECT_EQ(admission.Unfinished("a"), 2u);
  EXPECT_EQ(admission.Admit("a").status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(admission.AllUnfinished(), UnorderedElementsAre(Pair("a", 2u)));
}

TEST(NamespaceAdmissionTest, ASlotMovedCountsOnce) {
  ManualClock clock;
  NamespaceAdmission admission(clock, {});
  NamespaceSlot moved_to;
  {
    absl::StatusOr<NamespaceSlot> slot = admission.Admit("a");
    ASSERT_TRUE(slot.ok());
    moved_to = *std::move(slot);
  }
  EXPECT_TRUE(moved_to.counted());
  EXPECT_EQ(admission.Unfinished("a"), 1u);
  NamespaceSlot again(std::move(moved_to));
  EXPECT_EQ(admission.Unfinished("a"), 1u);
}

TEST(NamespaceAdmissionTest, SubmitRateIsATokenBucketOnTheClock) {
  ManualClock clock;
  NamespaceAdmission admission(clock, {.submit_rate = 2, .submit_burst = 3});
  // A full bucket: the burst at once, then refused.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(admission.Admit("a").ok()) << i;
  NamespaceRefusal why = NamespaceRefusal::kNone;
  absl::StatusOr<NamespaceSlot> refused = admission.Admit("a", &why);
  EXPECT_EQ(why, NamespaceRefusal::kRate);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("retry later"));
  EXPECT_THAT(refused.status().message(), HasSubstr("--namespace-submit-rate"));
  // Another namespace has its own bucket.
  EXPECT_TRUE(admission.Admit("b").ok());
  // 2/s: one more after half a second, not before.
  clock.Advance(absl::Milliseconds(400));
  EXPECT_FALSE(admission.Admit("a").ok());
  clock.Advance(absl::Milliseconds(100));
  EXPECT_TRUE(admission.Admit("a").ok());
  EXPECT_FALSE(admission.Admit("a").ok());
  // Refills no further than the burst.
  clock.Advance(absl::Hours(1));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(admission.Admit("a").ok()) << i;
  EXPECT_FALSE(admission.Admit("a").ok());
}

TEST(NamespaceAdmissionTest, BurstDefaultsToOneSecondOfTheRate) {
  ManualClock clock;
  NamespaceAdmission admission(clock, {.submit_rate = 5});
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(admission.Admit("a").ok()) << i;
  EXPECT_FALSE(admission.Admit("a").ok());
}

TEST(NamespaceAdmissionTest, ARefusedSubmitTakesNoToken) {
  ManualClock clock;
  NamespaceAdmission admission(
      clock, {.max_tasks = 1, .submit_rate = 1, .submit_burst = 2});
  absl::StatusOr<NamespaceSlot> held = admission.Admit("a");
  ASSERT_TRUE(held.ok());
  // At the bound: refused, and the bucket keeps its last token.
  EXPECT_THAT(admission.Admit("a").status().message(),
              HasSubstr("--namespace-max-tasks"));
  *held = NamespaceSlot();
  EXPECT_TRUE(admission.Admit("a").ok());
}

}  // namespace
}  // namespace corosched::server
