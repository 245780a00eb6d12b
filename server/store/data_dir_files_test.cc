#include "server/store/data_dir_files.h"

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/sqlite_test_dir.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The permission bits of `path`, or -1 when it does not exist.
int ModeOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

// Sets the process umask to the common 022 for one test, so that files
// created without an explicit mode would come out 0644 and the tests below
// could fail.
class DataDirFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { old_umask_ = umask(022); }
  void TearDown() override { umask(old_umask_); }

  SqliteTestDir dir_;

 private:
  mode_t old_umask_ = 0;
};

TEST_F(DataDirFilesTest, AFreshStoreKeepsItsFilesToItsOwner) {
  ASSERT_FALSE(dir_.path().empty());
  std::vector<std::string> warnings;
  SqliteStoreOptions options{.data_dir = dir_.path()};
  options.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  auto store = SqliteStore::Open(std::move(options));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(
      BlockingStore(**store)
          .CreateTask(test_records::Task("t", v1::TASK_STATUS_READY), {})
          .ok());
  // While the store is open the WAL and its index exist.
  EXPECT_EQ(ModeOf(dir_.file("corosched.db")), 0600);
  EXPECT_EQ(ModeOf(dir_.file("corosched.db-wal")), 0600);
  EXPECT_EQ(ModeOf(dir_.file("corosched.db-shm")), 0600);
  EXPECT_EQ(ModeOf(dir_.file("LOCK")), 0600);
  EXPECT_THAT(warnings, IsEmpty());  // mkdtemp made the directory 0700
}

TEST_F(DataDirFilesTest, AnExistingReadableDatabaseIsMadeOwnerOnly) {
  const std::string database = dir_.file("corosched.db");
  std::ofstream(database) << "";
  std::ofstream(database + "-wal") << "";
  ASSERT_EQ(chmod(database.c_str(), 0644), 0);
  ASSERT_EQ(chmod((database + "-wal").c_str(), 0660), 0);

  auto tightened = RestrictDatabaseFiles(database);
  ASSERT_TRUE(tightened.ok()) << tightened.status();
  EXPECT_THAT(*tightened,
              ElementsAre(AllOf(HasSubstr(database), HasSubstr("mode 0644"),
                                HasSubstr("now 0600")),
                          HasSubstr("-wal was open to other users (mode "
                                    "0660)")));
  EXPECT_EQ(ModeOf(database), 0600);
  EXPECT_EQ(ModeOf(database + "-wal"), 0600);
  EXPECT_THAT(*RestrictDatabaseFiles(database), IsEmpty());  // nothing left
}

TEST_F(DataDirFilesTest, OpeningTheStoreReportsWhatItTightened) {
  ASSERT_TRUE(SqliteStore::Open({.data_dir = dir_.path()}).ok());
  ASSERT_EQ(chmod(dir_.file("corosched.db").c_str(), 0644), 0);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  std::vector<std::string> warnings;
  SqliteStoreOptions options{.data_dir = dir_.path()};
  options.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  auto store = SqliteStore::Open(std::move(options));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_THAT(
      warnings,
      ElementsAre(HasSubstr("corosched.db was open to other users"),
                  AllOf(HasSubstr("the data directory"),
                        HasSubstr("(mode 0755)"), HasSubstr("chmod 700"))));
  EXPECT_EQ(ModeOf(dir_.file("corosched.db")), 0600);
  EXPECT_EQ(ModeOf(dir_.path()), 0755);  // the operator's to change
}

TEST_F(DataDirFilesTest, AnOwnerOnlyDirectoryGetsNoWarning) {
  ASSERT_EQ(chmod(dir_.path().c_str(), 0700), 0);
  EXPECT_EQ(DataDirAccessWarning(dir_.path()), "");
  ASSERT_EQ(chmod(dir_.path().c_str(), 0750), 0);
  EXPECT_THAT(DataDirAccessWarning(dir_.path()), HasSubstr("(mode 0750)"));
}

}  // namespace
}  // namespace corosched::server
