#include "server/work/work_token.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(WorkTokenTest, RoundTripsTaskAttemptAndNonce) {
  absl::StatusOr<std::string> nonce = NewLeaseNonce();
  ASSERT_TRUE(nonce.ok());
  WorkToken token{"task-1", 0x01020304, *nonce};
  std::string bytes = token.Encode();
  EXPECT_EQ(bytes.size(), WorkToken::kHeaderBytes + 6);
  absl::StatusOr<WorkToken> decoded = WorkToken::Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->task_id, "task-1");
  EXPECT_EQ(decoded->attempt, 0x01020304u);
  EXPECT_EQ(decoded->nonce, *nonce);
}

TEST(WorkTokenTest, LongestTaskIdFitsTheBound) {
  WorkToken token{std::string(WorkToken::kMaxTaskIdBytes, 't'), 1,
                  std::string(WorkToken::kNonceBytes, 'n')};
  EXPECT_EQ(token.Encode().size(), WorkToken::kMaxBytes);
  EXPECT_TRUE(WorkToken::Decode(token.Encode()).ok());
}

TEST(WorkTokenTest, RefusesBytesThatAreNoToken) {
  WorkToken good{"t", 1, std::string(WorkToken::kNonceBytes, 'n')};
  std::string other_version = good.Encode();
  other_version[0] = 2;
  std::string attempt_zero = WorkToken{"t", 0, good.nonce}.Encode();
  for (const std::string& bad :
       {std::string(), std::string(WorkToken::kHeaderBytes, '\1'),
        std::string(WorkToken::kMaxBytes + 1, '\1'), other_version,
        attempt_zero}) {
    EXPECT_EQ(WorkToken::Decode(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad.size() << " bytes";
  }
}

TEST(WorkTokenTest, NoncesAreFullLengthAndFresh) {
  absl::StatusOr<std::string> a = NewLeaseNonce();
  absl::StatusOr<std::string> b = NewLeaseNonce();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), WorkToken::kNonceBytes);
  EXPECT_NE(*a, *b);
}

TEST(WorkTokenTest, NoncesEqualComparesEveryByte) {
  std::string a(16, 'a');
  std::string b = a;
  EXPECT_TRUE(NoncesEqual(a, b));
  b[15] = 'b';
  EXPECT_FALSE(NoncesEqual(a, b));
  EXPECT_FALSE(NoncesEqual(a, a.substr(1)));
}

}  // namespace
}  // namespace corosched::server
