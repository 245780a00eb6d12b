#include "server/auth/credential_table.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/testing/tokens_json.h"

namespace corosched::server {
namespace {

using ::testing::HasSubstr;

using testing::HexSha256;

std::string TokenJson(absl::string_view name, absl::string_view token,
                      absl::string_view namespaces, absl::string_view roles) {
  return absl::StrCat(R"({"name": ")", name, R"(", "sha256": ")",
                      HexSha256(token), R"(", "namespaces": )", namespaces,
                      R"(, "roles": )", roles, "}");
}

absl::Status ParseError(absl::string_view json) {
  return CredentialTable::Parse(json).status();
}

TEST(CredentialTableTest, FindsTheTokenWhoseHashIsListed) {
  absl::StatusOr<CredentialTable> table = CredentialTable::Parse(absl::StrCat(
      R"({"tokens": [)",
      TokenJson("ci", "ci-secret", R"(["a"])", R"(["read"])"), ",",
      TokenJson("ops", "ops-secret", R"(["*"])", R"(["admin"])"), "]}"));
  ASSERT_TRUE(table.ok()) << table.status();
  const Grants* ci = table->FindToken("ci-secret");
  ASSERT_NE(ci, nullptr);
  EXPECT_EQ(ci->principal(), "ci");
  const Grants* ops = table->FindToken("ops-secret");
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->principal(), "ops");
  EXPECT_EQ(table->token_count(), 2u);
}

TEST(CredentialTableTest, AWrongOrForgedTokenFindsNothing) {
  absl::StatusOr<CredentialTable> table = CredentialTable::Parse(absl::StrCat(
      R"({"tokens": [)",
      TokenJson("ci", "ci-secret", R"(["a"])", R"(["read"])"), "]}"));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->FindToken("wrong"), nullptr);
  EXPECT_EQ(table->FindToken("ci-secreT"), nullptr);  // right length
  EXPECT_EQ(table->FindToken(""), nullptr);
  // The hash itself is not the token.
  EXPECT_EQ(table->FindToken(HexSha256("ci-secret")), nullptr);
}

TEST(CredentialTableTest, UppercaseHexIsTheSameHash) {
  std::string hex = HexSha256("t");
  for (char& c : hex) c = static_cast<char>(std::toupper(c));
  absl::StatusOr<CredentialTable> table = CredentialTable::Parse(
      absl::StrCat(R"({"tokens": [{"name": "x", "sha256": ")", hex,
                   R"(", "namespaces": ["a"], "roles": ["read"]}]})"));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_NE(table->FindToken("t"), nullptr);
}

TEST(CredentialTableTest, GrantsRolesOnlyInTheirNamespaces) {
  absl::StatusOr<CredentialTable> table = CredentialTable::Parse(absl::StrCat(
      R"({"tokens": [)", TokenJson("reader", "r", R"(["a"])", R"(["read"])"),
      ",", TokenJson("all", "s", R"(["*"])", R"(["submit", "wake"])"), ",",
      TokenJson("boss", "b", R"(["a"])", R"(["admin"])"), "]}"));
  ASSERT_TRUE(table.ok()) << table.status();
  const Grants& reader = *table->FindToken("r");
  EXPECT_TRUE(reader.Allows("a", Role::kRead));
  EXPECT_FALSE(reader.Allows("a", Role::kSubmit));
  EXPECT_FALSE(reader.Allows("b", Role::kRead));
  const Grants& all = *table->FindToken("s");
  EXPECT_TRUE(all.Allows("anything", Role::kSubmit));
  EXPECT_TRUE(all.Allows("default", Role::kWake));
  EXPECT_FALSE(all.Allows("default", Role::kWork));
  const Grants& boss = *table->FindToken("b");
  EXPECT_TRUE(boss.Allows("a", Role::kWork));
  EXPECT_TRUE(boss.Allows("a", Role::kAdmin));
  EXPECT_FALSE(boss.Allows("b", Role::kRead));
}

TEST(CredentialTableTest, MapsACertificateIdentityToItsEntry) {
  absl::StatusOr<CredentialTable> table = CredentialTable::Parse(
      R"({"certificates": [{"name": "w1", "common_name": "worker-1",
          "namespaces": ["jobs"], "roles": ["work"]}]})");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->FindCertificate({"other", "worker-1"})->principal(), "w1");
  EXPECT_EQ(table->FindCertificate({"worker-2"}), nullptr);
  EXPECT_EQ(table->FindCertificate({}), nullptr);
}

TEST(CredentialTableTest, AnEmptyFileGrantsNothing) {
  absl::StatusOr<CredentialTable> table = CredentialTable::Parse("{}");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->FindToken("anything"), nullptr);
}

TEST(CredentialTableTest, MalformedJsonIsAnError) {
  for (const char* json : {"", "{", "[]", R"({"tokens": 7})", "not json"}) {
    absl::Status error = ParseError(json);
    EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(error.message(), HasSubstr("not a tokens file")) << json;
  }
}

TEST(CredentialTableTest, UnknownFieldsAreErrors) {
  EXPECT_THAT(ParseError(R"({"tokens": [], "token": []})").message(),
              HasSubstr("not a tokens file"));
  EXPECT_THAT(
      ParseError(R"({"tokens": [{"name": "x", "secret": "y"}]})").message(),
      HasSubstr("not a tokens file"));
}

TEST(CredentialTableTest, BadEntriesAreNamedWithWhatIsWrong) {
  struct Case {
    std::string json;
    std::string error;
  };
  const std::string ok_hash = HexSha256("t");
  const Case cases[] = {
      {R"({"tokens": [{"name": "ci", "sha256": "abc", "namespaces": ["a"],
           "roles": ["read"]}]})",
       R"(tokens[0] ("ci"): sha256 must be 64 hex digits)"},
      {absl::StrCat(R"({"tokens": [{"name": "ci", "sha256": ")",
                    std::string(63, 'a'), "g",
                    R"(", "namespaces": ["a"], "roles": ["read"]}]})"),
       R"(tokens[0] ("ci"): sha256 must be 64 hex digits)"},
      {absl::StrCat(R"({"tokens": [)",
                    TokenJson("ci", "t", R"(["a"])", R"(["root"])"), "]}"),
       R"(tokens[0] ("ci"): unknown role "root")"},
      {absl::StrCat(R"({"tokens": [)",
                    TokenJson("ci", "t", R"([])", R"(["read"])"), "]}"),
       R"(tokens[0] ("ci"): no namespaces)"},
      {absl::StrCat(R"({"tokens": [)",
                    TokenJson("ci", "t", R"(["a"])", R"([])"), "]}"),
       R"(tokens[0] ("ci"): no roles)"},
      {absl::StrCat(R"({"tokens": [)",
                    TokenJson("ci", "t", R"(["a b"])", R"(["read"])"), "]}"),
       R"(tokens[0] ("ci"): namespace "a b" is not a namespace name)"},
      {absl::StrCat(R"({"tokens": [)",
                    TokenJson("", "t", R"(["a"])", R"(["read"])"), "]}"),
       R"(tokens[0] (""): no name)"},
      {absl::StrCat(R"({"tokens": [)",
                    TokenJson("x", "t", R"(["a"])", R"(["read"])"), ",",
                    TokenJson("x", "u", R"(["a"])", R"(["read"])"), "]}"),
       R"(tokens[1] ("x"): another token has this name)"},
      {absl::StrCat(R"({"tokens": [)",
                    TokenJson("x", "t", R"(["a"])", R"(["read"])"), ",",
                    TokenJson("y", "t", R"(["a"])", R"(["read"])"), "]}"),
       R"(tokens[1] ("y"): another token has this sha256)"},
      {R"({"certificates": [{"name": "w", "namespaces": ["a"],
           "roles": ["work"]}]})",
       R"(certificates[0] ("w"): no common_name)"},
  };
  for (const Case& c : cases) {
    absl::Status error = ParseError(c.json);
    EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(error.message(), HasSubstr(c.error)) << c.json;
  }
}

}  // namespace
}  // namespace corosched::server
