#include "server/auth/rate_limits.h"

#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(RequestRateLimiterTest, AllowsABurstOfRateThenRefillsWithTime) {
  ManualClock clock;
  RequestRateLimiter limiter(/*rate=*/3, clock);
  EXPECT_TRUE(limiter.TryAcquire("ci"));
  EXPECT_TRUE(limiter.TryAcquire("ci"));
  EXPECT_TRUE(limiter.TryAcquire("ci"));
  EXPECT_FALSE(limiter.TryAcquire("ci"));
  // Another key has its own bucket.
  EXPECT_TRUE(limiter.TryAcquire("ops"));
  clock.Advance(absl::Milliseconds(340));  // one request's worth
  EXPECT_TRUE(limiter.TryAcquire("ci"));
  EXPECT_FALSE(limiter.TryAcquire("ci"));
  clock.Advance(absl::Hours(1));  // refills to the burst, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryAcquire("ci"));
  EXPECT_FALSE(limiter.TryAcquire("ci"));
}

TEST(RequestRateLimiterTest, ZeroIsUnlimitedAndKeepsNothing) {
  ManualClock clock;
  RequestRateLimiter limiter(/*rate=*/0, clock);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.TryAcquire("ci"));
  EXPECT_EQ(limiter.key_count(), 0u);
}

TEST(RequestRateLimiterTest, ForgetsIdleKeysToStayBounded) {
  ManualClock clock;
  RequestRateLimiter limiter(/*rate=*/1, clock, /*max_keys=*/2);
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_TRUE(limiter.TryAcquire("b"));
  // Both busy: a third key passes without a bucket.
  EXPECT_TRUE(limiter.TryAcquire("c"));
  EXPECT_EQ(limiter.key_count(), 2u);
  EXPECT_FALSE(limiter.TryAcquire("a"));
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(limiter.TryAcquire("c"));  // a and b were idle: forgotten
  EXPECT_EQ(limiter.key_count(), 1u);
  EXPECT_FALSE(limiter.TryAcquire("c"));
}

TEST(StreamLimiterTest, RefusesPastTheMaximumAndTakesSlotsBack) {
  StreamLimiter limiter(/*max_per_key=*/2);
  std::shared_ptr<const void> first = limiter.TryAcquire("ci");
  std::shared_ptr<const void> second = limiter.TryAcquire("ci");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(limiter.TryAcquire("ci"), nullptr);
  EXPECT_NE(limiter.TryAcquire("ops"), nullptr);  // dropped at once
  EXPECT_EQ(limiter.open("ci"), 2u);
  std::shared_ptr<const void> copy = first;
  first.reset();
  EXPECT_EQ(limiter.open("ci"), 2u);  // a copy still holds it
  copy.reset();
  EXPECT_EQ(limiter.open("ci"), 1u);
  EXPECT_NE(limiter.TryAcquire("ci"), nullptr);
  EXPECT_EQ(limiter.open("ops"), 0u);
}

TEST(StreamLimiterTest, ASlotMayOutliveItsLimiter) {
  std::shared_ptr<const void> slot;
  {
    StreamLimiter limiter(1);
    slot = limiter.TryAcquire("ci");
    ASSERT_NE(slot, nullptr);
  }
  slot.reset();  // no use after free (ASan would say)
}

}  // namespace
}  // namespace corosched::server
