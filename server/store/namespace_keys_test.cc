#include "server/store/namespace_keys.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(NamespaceKeysTest, DefaultNamespaceKeepsTheNameAsItsKey) {
  EXPECT_EQ(NamespacedKey("default", "t1"), "t1");
  const KeyParts parts = SplitNamespacedKey("t1");
  EXPECT_EQ(parts.namespace_name, "default");
  EXPECT_EQ(parts.name, "t1");
}

TEST(NamespaceKeysTest, OtherNamespacesPrefixTheirName) {
  EXPECT_EQ(NamespacedKey("b", "t1"), "b/t1");
  const KeyParts parts = SplitNamespacedKey("b/t1");
  EXPECT_EQ(parts.namespace_name, "b");
  EXPECT_EQ(parts.name, "t1");
  EXPECT_EQ(LocalName("team.x/emails"), "emails");
}

TEST(NamespaceKeysTest, SameNameInTwoNamespacesIsTwoKeys) {
  EXPECT_NE(NamespacedKey("a", "t1"), NamespacedKey("b", "t1"));
  EXPECT_NE(NamespacedKey("default", "t1"), NamespacedKey("b", "t1"));
}

TEST(NamespaceKeysTest, KeyInNamespaceTellsWhoseKeyItIs) {
  EXPECT_TRUE(KeyInNamespace("t1", "default"));
  EXPECT_FALSE(KeyInNamespace("t1", "b"));
  EXPECT_TRUE(KeyInNamespace("b/t1", "b"));
  EXPECT_FALSE(KeyInNamespace("b/t1", "default"));
  EXPECT_FALSE(KeyInNamespace("bb/t1", "b"));
  EXPECT_FALSE(KeyInNamespace("b/t1", "bb"));
}

TEST(NamespaceKeysTest, WithLocalNameShowsTheClientsName) {
  const absl::Status status =
      WithLocalName(absl::NotFoundError("no task with id \"b/t1\""), "b/t1");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no task with id \"t1\"");
  EXPECT_TRUE(WithLocalName(absl::OkStatus(), "b/t1").ok());
}

TEST(NamespaceKeysTest, KeyRangeHoldsExactlyTheNamespacesKeys) {
  const NamespaceKeyRange range = KeyRangeOf("b");
  auto in = [&range](const std::string& key) {
    return key >= range.begin && key < range.end;
  };
  EXPECT_TRUE(in("b/t1"));
  EXPECT_TRUE(in("b/zzzz"));
  EXPECT_TRUE(in("b/"));
  EXPECT_FALSE(in("b"));
  EXPECT_FALSE(in("b-x/t1"));  // '-' sorts before '/'
  EXPECT_FALSE(in("b.x/t1"));  // '.' sorts before '/'
  EXPECT_FALSE(in("b0/t1"));
  EXPECT_FALSE(in("ba/t1"));
  EXPECT_FALSE(in("t1"));
}

}  // namespace
}  // namespace corosched::server
