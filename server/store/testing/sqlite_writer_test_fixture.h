#pragma once

// The fixture of the SQLite store's writer tests, whose cases are split by
// what they test: sqlite_store_writer_test.cc (commits, answers, counts,
// retention, recovery) and sqlite_store_progress_test.cc (progress writes:
// their order with other writes, their fsyncs, their joining).

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/group_commit_test_observer.h"
#include "server/store/testing/sqlite_fault_vfs.h"
#include "server/store/testing/sqlite_test_dir.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {

// A store on a fresh directory, through a fault VFS (which counts syncs),
// with an observer that records every commit and can hold the first.
class SqliteStoreWriterTest : public ::testing::Test {
 protected:
  void Open(SqliteStoreOptions options = {}) {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    vfs_ = SqliteFaultVfs::Register(absl::StrCat("writer-", test->name()));
    ASSERT_NE(vfs_, nullptr);
    options.data_dir = dir_.path();
    options.vfs = vfs_->name();
    options.observer = &observer_;
    auto store = SqliteStore::Open(std::move(options));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Creates task `id` and, if `finished_at` is set, finishes it then.
  void AddTask(const std::string& id,
               std::optional<absl::Time> finished_at = std::nullopt) {
    ASSERT_TRUE(blocking()
                    .CreateTask(test_records::Task(id, v1::TASK_STATUS_READY),
                                {test_records::Output("o")})
                    .ok());
    if (finished_at.has_value()) {
      ASSERT_TRUE(
          blocking()
              .RecordProgress(id, test_records::Finish(
                                      v1::TASK_STATUS_COMPLETED, *finished_at))
              .ok());
    }
  }

  // The store's ...Async calls, each waited for.
  BlockingStore blocking() { return BlockingStore(*store_); }

  SqliteTestDir dir_;
  test_observer::RecordingObserver observer_;
  std::unique_ptr<SqliteFaultVfs> vfs_;  // outlives the store
  std::unique_ptr<SqliteStore> store_;
};

}  // namespace corosched::server
