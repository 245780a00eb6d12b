#include "server/auth/call_credentials.h"

#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(ParseAuthorizationHeaderTest, TakesTheTokenOfABearerHeader) {
  EXPECT_EQ(ParseAuthorizationHeader("Bearer abc.DEF-123").value(),
            "abc.DEF-123");
  EXPECT_EQ(ParseAuthorizationHeader("bearer t0k3n").value(), "t0k3n");
}

TEST(ParseAuthorizationHeaderTest, RefusesOtherSchemesWithoutEchoingThem) {
  for (const char* value :
       {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer  two spaces",
        "Bearer a b", "sekrit-token", "Bearer tab\there"}) {
    absl::StatusOr<std::string> token = ParseAuthorizationHeader(value);
    ASSERT_FALSE(token.ok()) << value;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(token.status().message(),
              "authorization header: expected Bearer <token>");
  }
}

}  // namespace
}  // namespace corosched::server
