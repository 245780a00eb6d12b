#include "server/auth/authorizer.h"

#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(RoleForTest, NamesTheRoleOfEveryMethod) {
  EXPECT_EQ(RoleFor("GetTask"), Role::kRead);
  EXPECT_EQ(RoleFor("SubmitTasks"), Role::kSubmit);
  EXPECT_EQ(RoleFor("WakeTask"), Role::kWake);
  EXPECT_EQ(RoleFor("WorkStream"), Role::kWork);
  EXPECT_EQ(RoleFor("RegisterDefinition"), Role::kAdmin);
}

TEST(RoleForTest, AnUnknownMethodNeedsAdmin) {
  EXPECT_EQ(RoleFor("DropEverything"), Role::kAdmin);
}

TEST(RoleNameTest, SpellsEachRoleAsTheTokensFileDoes) {
  EXPECT_EQ(RoleName(Role::kRead), "read");
  EXPECT_EQ(RoleName(Role::kSubmit), "submit");
  EXPECT_EQ(RoleName(Role::kWake), "wake");
  EXPECT_EQ(RoleName(Role::kWork), "work");
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
}

}  // namespace
}  // namespace corosched::server
