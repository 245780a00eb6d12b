#include "server/auth/make_authorizer.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/testing/tokens_json.h"
#include "server/daemon/listen_policy.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

TEST(MakeAuthorizerTest, IsOpenWithoutCredentials) {
  ServerConfig config;
  EXPECT_FALSE(AuthenticationConfigured(config));
  auto authorizer = MakeAuthorizer(config, Clock::Real(), nullptr);
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  EXPECT_NE(dynamic_cast<OpenAuthorizer*>(authorizer->get()), nullptr);
}

TEST(MakeAuthorizerTest, RefusesAnUnreadableOrInvalidFileNamingIt) {
  ServerConfig config;
  config.auth.tokens_file = "/nonexistent/tokens.json";
  absl::Status missing =
      MakeAuthorizer(config, Clock::Real(), nullptr).status();
  EXPECT_THAT(missing.message(),
              HasSubstr("--auth-tokens /nonexistent/tokens.json"));

  std::string dir = ::testing::TempDir() + "/make_authorizer_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  config.auth.tokens_file = dir + "/tokens.json";
  std::ofstream(config.auth.tokens_file) << R"({"tokens": [{"name": "x"}]})";
  EXPECT_THAT(MakeAuthorizer(config, Clock::Real(), nullptr).status().message(),
              HasSubstr("--auth-tokens " + dir + "/tokens.json: tokens[0]"));

  std::ofstream(config.auth.tokens_file, std::ios::trunc)
      << testing::TokensJson({testing::TokenJson("ci", "t", {"a"}, {"read"})});
  auto authorizer = MakeAuthorizer(config, Clock::Real(), nullptr);
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  EXPECT_EQ(dynamic_cast<OpenAuthorizer*>(authorizer->get()), nullptr);
  authorizer->reset();  // stops its reload thread
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace corosched::server
