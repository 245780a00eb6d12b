// The SQLite store when the disk fails under it: a failed fsync or write
// (injected through SqliteFaultVfs) is never acknowledged, the store refuses
// every later write, tells the daemon once, and what was acknowledged before
// is still there after a restart.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/sqlite_fault_vfs.h"
#include "server/store/testing/sqlite_test_dir.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using test_records::Definition;
using test_records::kT0;
using test_records::Output;
using test_records::Task;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class SqliteStoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    vfs_ = SqliteFaultVfs::Register(absl::StrCat("fault-", test->name()));
    ASSERT_NE(vfs_, nullptr);
    SqliteStoreOptions options{.data_dir = dir_.path(), .vfs = vfs_->name()};
    options.on_fatal_error = [this](const absl::Status& reason) {
      absl::MutexLock lock(&mu_);
      fatal_.push_back(reason);
    };
    auto store = SqliteStore::Open(std::move(options));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // The store's ...Async calls, each waited for.
  BlockingStore blocking() { return BlockingStore(*store_); }

  std::vector<absl::Status> fatal() {
    absl::MutexLock lock(&mu_);
    return fatal_;
  }

  // Closes the store and opens the directory again on a healthy disk.
  std::unique_ptr<SqliteStore> Restart() {
    store_.reset();
    vfs_->Heal();
    auto store = SqliteStore::Open({.data_dir = dir_.path()});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Every kind of write, after the failure: each must be UNAVAILABLE.
  void ExpectEveryWriteRefused() {
    EXPECT_EQ(blocking()
                  .CreateTask(Task("later", v1::TASK_STATUS_READY), {})
                  .status()
                  .code(),
              absl::StatusCode::kUnavailable);
    EXPECT_EQ(
        blocking().PutDefinition(Definition("d", "1"), kT0).status().code(),
        absl::StatusCode::kUnavailable);
    EXPECT_EQ(blocking().RecordWakeSignal("acked", "r", {}, {}).code(),
              absl::StatusCode::kUnavailable);
    EXPECT_EQ(blocking().RecordProgress("acked", {}).status().code(),
              absl::StatusCode::kUnavailable);
    absl::Notification answered;
    absl::Status async_answer;
    store_->RecordProgressAsync("acked", {},
                                [&](const absl::StatusOr<uint64_t>& r) {
                                  async_answer = r.status();
                                  answered.Notify();
                                });
    answered.WaitForNotification();
    EXPECT_EQ(async_answer.code(), absl::StatusCode::kUnavailable);
  }

  SqliteTestDir dir_;
  std::unique_ptr<SqliteFaultVfs> vfs_;
  std::unique_ptr<SqliteStore> store_;
  absl::Mutex mu_;
  std::vector<absl::Status> fatal_ ABSL_GUARDED_BY(mu_);
};

TEST_F(SqliteStoreFaultTest, AFailedFsyncIsNeverAcknowledged) {
  ASSERT_TRUE(
      blocking()
          .CreateTask(Task("acked", v1::TASK_STATUS_READY), {Output("a")})
          .ok());
  vfs_->FailSyncs();
  auto failed = blocking().CreateTask(Task("lost", v1::TASK_STATUS_READY), {});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(failed.status().message()),
              AllOf(HasSubstr("storage failure"), HasSubstr("I/O error"),
                    HasSubstr("restarted"), HasSubstr("corosched.db"),
                    Not(HasSubstr(dir_.path()))));
  vfs_->Heal();  // the store stays failed: the page cache can't be trusted
  ExpectEveryWriteRefused();
  ASSERT_EQ(fatal().size(), 1u);
  EXPECT_EQ(fatal()[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->failure(), fatal()[0]);
  EXPECT_TRUE(store_->GetTask("acked").ok());  // reads keep working

  std::unique_ptr<SqliteStore> restarted = Restart();
  ASSERT_NE(restarted, nullptr);
  auto acked = restarted->GetTask("acked");
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(restarted->ReadEvents("acked", 0, 10)->events.size(), 1u);
  EXPECT_TRUE(BlockingStore(*restarted)
                  .CreateTask(Task("after", v1::TASK_STATUS_READY), {})
                  .ok());
}

TEST_F(SqliteStoreFaultTest, AFullDiskIsNeverAcknowledged) {
  ASSERT_TRUE(
      blocking().CreateTask(Task("acked", v1::TASK_STATUS_READY), {}).ok());
  vfs_->FailWrites(SQLITE_FULL);
  auto failed = blocking().CreateTask(Task("lost", v1::TASK_STATUS_READY), {});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("full"));
  vfs_->Heal();
  ExpectEveryWriteRefused();
  EXPECT_EQ(fatal().size(), 1u);

  std::unique_ptr<SqliteStore> restarted = Restart();
  ASSERT_NE(restarted, nullptr);
  EXPECT_TRUE(restarted->GetTask("acked").ok());
}

TEST_F(SqliteStoreFaultTest, OpeningOnADiskThatTakesNoWritesFails) {
  ASSERT_TRUE(
      blocking().CreateTask(Task("acked", v1::TASK_STATUS_READY), {}).ok());
  store_.reset();
  vfs_->FailWrites(SQLITE_FULL);
  auto reopened =
      SqliteStore::Open({.data_dir = dir_.path(), .vfs = vfs_->name()});
  ASSERT_FALSE(reopened.ok());
  EXPECT_THAT(std::string(reopened.status().message()),
              AllOf(HasSubstr(dir_.path()), HasSubstr("takes no writes"),
                    HasSubstr("full")));

  std::unique_ptr<SqliteStore> restarted = Restart();
  ASSERT_NE(restarted, nullptr);
  EXPECT_TRUE(restarted->GetTask("acked").ok());
}

TEST_F(SqliteStoreFaultTest, AFailedWriteFailsEveryWaiterOfItsBatch) {
  ASSERT_TRUE(
      blocking().CreateTask(Task("acked", v1::TASK_STATUS_READY), {}).ok());
  vfs_->FailWrites();
  std::atomic<int> acknowledged{0};
  std::atomic<int> unavailable{0};
  std::vector<std::thread> writers;
  writers.reserve(8);
  for (int i = 0; i < 8; ++i) {
    writers.emplace_back([&, i] {
      for (int j = 0; j < 10; ++j) {
        auto result = blocking().CreateTask(
            Task(absl::StrCat("w", i, "-", j), v1::TASK_STATUS_READY), {});
        if (result.ok()) ++acknowledged;
        if (absl::IsUnavailable(result.status())) ++unavailable;
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(acknowledged.load(), 0);
  EXPECT_EQ(unavailable.load(), 80);
  EXPECT_EQ(fatal().size(), 1u);
}

TEST_F(SqliteStoreFaultTest, AFailedUnsyncedProgressWriteIsFatalToo) {
  ASSERT_TRUE(
      blocking().CreateTask(Task("acked", v1::TASK_STATUS_READY), {}).ok());
  vfs_->FailWrites();
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_AWAITING);
  progress.events = {Output("x")};
  absl::Notification answered;
  absl::Status answer;
  store_->RecordProgressAsync("acked", progress,
                              [&](const absl::StatusOr<uint64_t>& result) {
                                answer = result.status();
                                answered.Notify();
                              });
  answered.WaitForNotification();
  EXPECT_EQ(answer.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fatal().size(), 1u);
}

TEST_F(SqliteStoreFaultTest, AFailedPurgeIsFatalToo) {
  ASSERT_TRUE(
      blocking().CreateTask(Task("done", v1::TASK_STATUS_READY), {}).ok());
  ASSERT_TRUE(blocking()
                  .RecordProgress("done", test_records::Finish(
                                              v1::TASK_STATUS_COMPLETED, kT0))
                  .ok());
  vfs_->FailWrites();
  EXPECT_EQ(
      blocking().PurgeFinishedBefore(kT0 + absl::Hours(1), 10).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(fatal().size(), 1u);
}

}  // namespace
}  // namespace corosched::server
