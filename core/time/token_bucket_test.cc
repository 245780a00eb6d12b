#include "core/time/token_bucket.h"

#include "gtest/gtest.h"

namespace corosched {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(TokenBucketTest, StartsFullAndEmptiesOneTokenAtATime) {
  TokenBucket bucket;
  bucket.Refill(kStart, /*rate=*/1, /*burst=*/2);
  EXPECT_TRUE(bucket.Full(2));
  bucket.Take();
  ASSERT_TRUE(bucket.HasToken());
  bucket.Take();
  EXPECT_FALSE(bucket.HasToken());
}

TEST(TokenBucketTest, RefillsAtItsRateUpToItsBurst) {
  TokenBucket bucket;
  bucket.Refill(kStart, /*rate=*/2, /*burst=*/3);
  for (int i = 0; i < 3; ++i) bucket.Take();
  bucket.Refill(kStart + absl::Milliseconds(400), 2, 3);
  EXPECT_FALSE(bucket.HasToken());  // 0.8 tokens
  bucket.Refill(kStart + absl::Milliseconds(500), 2, 3);
  EXPECT_TRUE(bucket.HasToken());
  bucket.Refill(kStart + absl::Hours(1), 2, 3);
  EXPECT_TRUE(bucket.Full(3));
  for (int i = 0; i < 3; ++i) bucket.Take();
  EXPECT_FALSE(bucket.HasToken());
}

TEST(TokenBucketTest, AClockThatStepsBackRefillsNothing) {
  TokenBucket bucket;
  bucket.Refill(kStart, 1, 1);
  bucket.Take();
  bucket.Refill(kStart - absl::Hours(1), 1, 1);
  EXPECT_FALSE(bucket.HasToken());
  EXPECT_EQ(bucket.refilled(), kStart);
  bucket.Refill(kStart + absl::Seconds(1), 1, 1);
  EXPECT_TRUE(bucket.HasToken());
}

}  // namespace
}  // namespace corosched
