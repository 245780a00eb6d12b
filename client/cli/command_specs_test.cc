#include "client/cli/command_specs.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

TEST(CommandsTest, EverySynopsisNamesItsFlagsAndArguments) {
  for (const CommandSpec& spec : Commands()) {
    EXPECT_TRUE(absl::StartsWith(spec.synopsis, spec.name)) << spec.name;
    for (const FlagSpec& flag : spec.flags) {
      const std::string long_form = absl::StrCat("--", flag.name);
      const std::string short_form =
          absl::StrCat("-", std::string(1, flag.short_name), " ");
      EXPECT_TRUE(absl::StrContains(spec.synopsis, long_form) ||
                  (flag.short_name != '\0' &&
                   absl::StrContains(spec.synopsis, short_form)))
          << spec.name << " " << long_form;
    }
    for (absl::string_view positional : spec.positionals) {
      EXPECT_TRUE(absl::StrContains(spec.synopsis, positional))
          << spec.name << " " << positional;
    }
  }
}

TEST(CommandsTest, NoFlagHidesAnother) {
  for (const CommandSpec& spec : Commands()) {
    std::set<std::string> names;
    std::set<char> aliases;
    for (const std::vector<FlagSpec>* flags : {&GlobalFlags(), &spec.flags}) {
      for (const FlagSpec& flag : *flags) {
        EXPECT_TRUE(names.insert(std::string(flag.name)).second)
            << spec.name << " --" << flag.name;
        if (flag.short_name != '\0') {
          EXPECT_TRUE(aliases.insert(flag.short_name).second)
              << spec.name << " -" << flag.short_name;
        }
      }
    }
  }
}

TEST(CommandsTest, FindsFlagsByNameAndByAlias) {
  const CommandSpec* submit = FindCommand("submit");
  ASSERT_NE(submit, nullptr);
  EXPECT_EQ(FindShortFlag(submit, 'f'), FindFlag(submit, "file"));
  EXPECT_NE(FindFlag(submit, "file"), nullptr);
  EXPECT_NE(FindFlag(submit, "addr"), nullptr);  // global
  EXPECT_EQ(FindShortFlag(FindCommand("get"), 'f'), nullptr);
  EXPECT_EQ(FindShortFlag(submit, '\0'), nullptr);
  EXPECT_EQ(FindFlag(nullptr, "file"), nullptr);
  EXPECT_NE(FindFlag(nullptr, "timeout"), nullptr);
}

}  // namespace
}  // namespace corosched::cli
