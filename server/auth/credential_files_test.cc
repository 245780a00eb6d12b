#include "server/auth/credential_files.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/testing/fake_auth_observer.h"
#include "server/auth/testing/tokens_json.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;
using testing::TokenJson;
using testing::TokensJson;

class CredentialFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/credential_files_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `contents` to a new file and renames it over `name`, as a
  // deployment tool (or a Kubernetes secret) would.
  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = dir_ + "/" + name;
    const std::string temporary = path + ".tmp";
    std::ofstream(temporary, std::ios::trunc) << contents;
    std::filesystem::rename(temporary, path);
    return path;
  }

  std::string dir_;
};

TEST_F(CredentialFilesTest, LoadsTheTokensFile) {
  const std::string path = Write(
      "tokens.json", TokensJson({TokenJson("ci", "s1", {"a"}, {"read"})}));
  auto files = CredentialFiles::Load({.tokens_file = path});
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_NE((*files)->tokens(), nullptr);
  EXPECT_NE((*files)->tokens()->FindToken("s1"), nullptr);
  EXPECT_EQ((*files)->jwt(), nullptr);
}

TEST_F(CredentialFilesTest, AMissingOrInvalidFileIsAnErrorNamingIt) {
  absl::Status missing =
      CredentialFiles::Load({.tokens_file = dir_ + "/absent.json"}).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(),
              HasSubstr("--auth-tokens " + dir_ + "/absent.json: cannot read"));
  const std::string bad = Write("bad.json", "{\"tokens\": [");
  EXPECT_THAT(CredentialFiles::Load({.tokens_file = bad}).status().message(),
              HasSubstr("--auth-tokens " + bad + ": not a tokens file"));
  const std::string weak = Write("jwt.key", "short");
  EXPECT_THAT(CredentialFiles::Load({.jwt_key_file = weak}).status().message(),
              HasSubstr("--jwt-key " + weak + ": an HS256 secret"));
}

TEST_F(CredentialFilesTest, ReloadAddsAndRemovesTokens) {
  testing::FakeAuthObserver observer;
  const std::string path = Write(
      "tokens.json", TokensJson({TokenJson("ci", "s1", {"a"}, {"read"})}));
  auto files =
      CredentialFiles::Load({.tokens_file = path, .observer = &observer});
  ASSERT_TRUE(files.ok()) << files.status();
  (*files)->CheckForChanges();  // nothing changed
  EXPECT_EQ(observer.reloads(), 0);

  Write("tokens.json", TokensJson({TokenJson("ci", "s1", {"a"}, {"read"}),
                                   TokenJson("ops", "s2", {"*"}, {"admin"})}));
  (*files)->CheckForChanges();
  EXPECT_EQ(observer.reloads(), 1);
  EXPECT_NE((*files)->tokens()->FindToken("s2"), nullptr);

  Write("tokens.json", TokensJson({TokenJson("ops", "s2", {"*"}, {"admin"})}));
  (*files)->CheckForChanges();
  EXPECT_EQ(observer.reloads(), 2);
  EXPECT_EQ((*files)->tokens()->FindToken("s1"), nullptr);
  EXPECT_NE((*files)->tokens()->FindToken("s2"), nullptr);
}

TEST_F(CredentialFilesTest, ABadNewFileKeepsThePreviousTokens) {
  testing::FakeAuthObserver observer;
  const std::string path = Write(
      "tokens.json", TokensJson({TokenJson("ci", "s1", {"a"}, {"read"})}));
  auto files =
      CredentialFiles::Load({.tokens_file = path, .observer = &observer});
  ASSERT_TRUE(files.ok()) << files.status();
  Write("tokens.json", R"({"tokens": [{"name": "x", "sha256": "nothex"}]})");
  (*files)->CheckForChanges();
  (*files)->CheckForChanges();  // still bad: reported once
  EXPECT_EQ(observer.failed_reloads(), 1);
  EXPECT_NE((*files)->tokens()->FindToken("s1"), nullptr);
  std::filesystem::remove(path);
  (*files)->CheckForChanges();
  EXPECT_EQ(observer.failed_reloads(), 2);
  EXPECT_NE((*files)->tokens()->FindToken("s1"), nullptr);
  // Fixed: read again.
  Write("tokens.json", TokensJson({TokenJson("ci", "s3", {"a"}, {"read"})}));
  (*files)->CheckForChanges();
  EXPECT_EQ(observer.reloads(), 1);
  EXPECT_NE((*files)->tokens()->FindToken("s3"), nullptr);
}

TEST_F(CredentialFilesTest, ReloadsTheJwtKey) {
  const std::string path = Write("jwt.key", std::string(32, 'a') + "\n");
  auto files = CredentialFiles::Load({.jwt_key_file = path});
  ASSERT_TRUE(files.ok()) << files.status();
  std::shared_ptr<const JwtVerifier> before = (*files)->jwt();
  ASSERT_NE(before, nullptr);
  Write("jwt.key", std::string(40, 'b'));
  (*files)->CheckForChanges();
  EXPECT_NE((*files)->jwt(), before);
  EXPECT_EQ((*files)->jwt()->algorithm(), "HS256");
}

TEST_F(CredentialFilesTest, TheWatcherStopsWhenDestroyed) {
  const std::string path = Write(
      "tokens.json", TokensJson({TokenJson("ci", "s1", {"a"}, {"read"})}));
  auto files = CredentialFiles::Load({.tokens_file = path});
  ASSERT_TRUE(files.ok()) << files.status();
  (*files)->StartWatching(absl::Hours(1));
  files->reset();  // joins at once, without waiting for the interval
}

}  // namespace
}  // namespace corosched::server
