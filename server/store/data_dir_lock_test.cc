#include "server/store/data_dir_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/testing/sqlite_test_dir.h"

namespace corosched::server {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(DataDirLockTest, OneHolderAtATime) {
  SqliteTestDir dir;
  auto first = DataDirLock::Acquire(dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = DataDirLock::Acquire(dir.path());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()),
              AllOf(HasSubstr(dir.path()), HasSubstr("in use"),
                    HasSubstr(absl::StrCat("(pid ", getpid(), ")")),
                    HasSubstr(dir.file("LOCK"))));
  first->reset();
  EXPECT_TRUE(DataDirLock::Acquire(dir.path()).ok());
}

TEST(DataDirLockTest, AnotherProcessIsRefusedAndAKilledHolderLeavesNoLock) {
  SqliteTestDir dir;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {  // the child holds the lock until it is killed
    auto lock = DataDirLock::Acquire(dir.path());
    char ok = lock.ok() ? '1' : '0';
    (void)!write(ready[1], &ok, 1);
    pause();
    _exit(0);
  }
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  ASSERT_EQ(ok, '1');
  auto refused = DataDirLock::Acquire(dir.path());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr(absl::StrCat("(pid ", holder, ")")));
  kill(holder, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(holder, &status, 0), holder);
  EXPECT_TRUE(DataDirLock::Acquire(dir.path()).ok());
  close(ready[0]);
  close(ready[1]);
}

TEST(DataDirLockTest, AMissingDirectoryIsAClearError) {
  SqliteTestDir dir;
  auto lock = DataDirLock::Acquire(dir.file("missing"));
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(lock.status().message()),
              AllOf(HasSubstr(dir.file("missing/LOCK")), HasSubstr("exists")));
}

}  // namespace
}  // namespace corosched::server
