#include "client/cli/refusal_hint.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RefusalHintTest, UnauthenticatedSaysWhichCredentialWasNotAccepted) {
  const absl::Status refused = absl::UnauthenticatedError("no");
  EXPECT_THAT(RefusalHint(refused, {}), HasSubstr("wants credentials"));
  GlobalOptions with_token{.token = "s3cret-value"};
  EXPECT_THAT(RefusalHint(refused, with_token),
              HasSubstr("did not accept the token"));
  EXPECT_THAT(RefusalHint(refused, with_token), Not(HasSubstr("s3cret")));
  EXPECT_THAT(RefusalHint(refused, {.token_file = "/run/token"}),
              HasSubstr("did not accept the token"));
  EXPECT_THAT(RefusalHint(refused, {.tls_ca = "ca.pem",
                                    .tls_cert = "c.pem",
                                    .tls_key = "c.key"}),
              HasSubstr("did not accept the client certificate"));
}

TEST(RefusalHintTest, PermissionDeniedNamesTheNamespace) {
  const absl::Status denied = absl::PermissionDeniedError("no");
  EXPECT_THAT(RefusalHint(denied, {.namespace_name = "billing"}),
              HasSubstr("namespace \"billing\""));
  EXPECT_THAT(RefusalHint(denied, {}), HasSubstr("namespace \"default\""));
}

TEST(RefusalHintTest, AFailedConnectionPointsAtTheAddressAndTls) {
  const absl::Status down =
      absl::UnavailableError("failed to connect to all addresses");
  EXPECT_THAT(RefusalHint(down, {.address = "h:1"}),
              HasSubstr("running at h:1? (set --addr or COROSCHED_ADDR; a "
                        "daemon serving TLS needs --tls-ca)"));
  EXPECT_THAT(RefusalHint(down, {.address = "h:1", .tls_ca = "ca.pem"}),
              HasSubstr("--tls-ca's CA"));
  EXPECT_EQ(RefusalHint(absl::UnavailableError("draining"), {}), "");
  EXPECT_EQ(RefusalHint(absl::NotFoundError("no task"), {}), "");
}

}  // namespace
}  // namespace corosched::cli
