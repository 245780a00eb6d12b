#include "server/store/group_commit.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/testing/group_commit_test_observer.h"
#include "server/store/testing/sqlite_fault_vfs.h"
#include "server/store/testing/sqlite_test_dir.h"

namespace corosched::server {
namespace {

using test_observer::RecordingObserver;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class GroupCommitWriterTest : public ::testing::Test {
 protected:
  std::unique_ptr<GroupCommitWriter> StartWriter(GroupCommitOptions options,
                                                 const std::string& vfs = "") {
    auto connection = SqliteConnection::Open(
        {.path = dir_.file("test.db"), .vfs = vfs, .writer = true});
    EXPECT_TRUE(connection.ok()) << connection.status();
    EXPECT_TRUE((*connection)
                    ->Exec("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT "
                           "EXISTS rows (v INTEGER PRIMARY KEY)")
                    .ok());
    options.observer = &observer_;
    return std::make_unique<GroupCommitWriter>(*std::move(connection),
                                               std::move(options));
  }

  // A write inserting `v`; its outcome lands in `outcomes[v]`.
  static GroupCommitWriter::Write Insert(int v,
                                         std::vector<absl::Status>* outcomes,
                                         absl::Notification* done = nullptr) {
    return {.apply =
                [v](SqliteConnection& c) {
                  auto insert = c.Prepare("INSERT INTO rows (v) VALUES (?1)");
                  if (!insert.ok()) return insert.status();
                  insert->BindInt(1, v);
                  return insert->Run();
                },
            .done =
                [v, outcomes, done](absl::Status status) {
                  (*outcomes)[v] = std::move(status);
                  if (done != nullptr) done->Notify();
                }};
  }

  int64_t CountRows() {
    auto reader =
        SqliteConnection::Open({.path = dir_.file("test.db"), .writer = false});
    EXPECT_TRUE(reader.ok());
    return (*reader)->QueryInt("SELECT count(*) FROM rows").value_or(-1);
  }

  SqliteTestDir dir_;
  RecordingObserver observer_;
};

TEST_F(GroupCommitWriterTest, WritesQueuedDuringACommitShareTheNextOne) {
  observer_.HoldFirstCommit();
  std::vector<absl::Status> outcomes(101, absl::UnknownError("unanswered"));
  auto writer = StartWriter({.max_batch_writes = 512});
  writer->Submit(Insert(0, &outcomes));
  observer_.WaitUntilHeld();  // commit 1 is "in flight"
  absl::Notification last;
  for (int v = 1; v <= 100; ++v) {
    writer->Submit(Insert(v, &outcomes, v == 100 ? &last : nullptr));
  }
  observer_.Release();
  last.WaitForNotification();
  EXPECT_THAT(observer_.batches(), ElementsAre(1, 100));
  for (const absl::Status& outcome : outcomes) EXPECT_TRUE(outcome.ok());
  EXPECT_EQ(CountRows(), 101);
}

TEST_F(GroupCommitWriterTest, BoundsTheBatchSize) {
  observer_.HoldFirstCommit();
  std::vector<absl::Status> outcomes(11, absl::UnknownError("unanswered"));
  auto writer = StartWriter({.max_batch_writes = 4});
  writer->Submit(Insert(0, &outcomes));
  observer_.WaitUntilHeld();
  for (int v = 1; v <= 10; ++v) writer->Submit(Insert(v, &outcomes));
  observer_.Release();
  writer.reset();  // answers everything queued
  EXPECT_THAT(observer_.batches(), ElementsAre(1, 4, 4, 2));
}

TEST_F(GroupCommitWriterTest, ARefusedWriteLeavesTheRestOfItsBatch) {
  observer_.HoldFirstCommit();
  std::vector<absl::Status> outcomes(4, absl::UnknownError("unanswered"));
  auto writer = StartWriter({});
  writer->Submit(Insert(0, &outcomes));
  observer_.WaitUntilHeld();
  writer->Submit(Insert(1, &outcomes));
  writer->Submit({.apply =
                      [](SqliteConnection& c) {
                        // Half a write, then a refusal: the half is undone.
                        EXPECT_TRUE(
                            c.Exec("INSERT INTO rows (v) VALUES (50)").ok());
                        return absl::AlreadyExistsError("refused");
                      },
                  .done = [&](absl::Status s) { outcomes[2] = std::move(s); }});
  writer->Submit(Insert(1, &outcomes));  // a constraint violation
  writer->Submit(Insert(3, &outcomes));
  observer_.Release();
  writer.reset();
  EXPECT_THAT(observer_.batches(), ElementsAre(1, 4));
  EXPECT_TRUE(outcomes[0].ok());
  EXPECT_EQ(outcomes[2].code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(outcomes[1].code(), absl::StatusCode::kInternal);  // the 2nd 1
  EXPECT_TRUE(outcomes[3].ok());
  EXPECT_EQ(CountRows(), 3);  // 0, 1, 3: not 50
  EXPECT_THAT(observer_.failures(), ::testing::IsEmpty());
}

// Insert(), marked as deciding any refusal before it writes (no savepoint).
GroupCommitWriter::Write Unsaved(GroupCommitWriter::Write write) {
  write.refuses_before_writing = true;
  return write;
}

TEST_F(GroupCommitWriterTest, WritesWithoutASavepointAreRefusedAlone) {
  observer_.HoldFirstCommit();
  std::vector<absl::Status> outcomes(4, absl::UnknownError("unanswered"));
  auto writer = StartWriter({});
  writer->Submit(Unsaved(Insert(0, &outcomes)));
  observer_.WaitUntilHeld();
  writer->Submit(Unsaved(Insert(1, &outcomes)));
  writer->Submit(Unsaved(
      {.apply = [](SqliteConnection&) { return absl::NotFoundError("no"); },
       .done = [&](absl::Status s) { outcomes[2] = std::move(s); }}));
  // A constraint violation: SQLite undoes the statement, nothing changed.
  writer->Submit(Unsaved(Insert(1, &outcomes)));
  writer->Submit(Unsaved(Insert(3, &outcomes)));
  observer_.Release();
  writer.reset();
  EXPECT_THAT(observer_.batches(), ElementsAre(1, 4));
  EXPECT_TRUE(outcomes[0].ok());
  EXPECT_EQ(outcomes[2].code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(outcomes[1].code(), absl::StatusCode::kInternal);  // the 2nd 1
  EXPECT_TRUE(outcomes[3].ok());
  EXPECT_EQ(CountRows(), 3);
  EXPECT_THAT(observer_.failures(), ::testing::IsEmpty());
}

TEST_F(GroupCommitWriterTest, AWriteWithoutASavepointThatFailsHalfDoneStops) {
  observer_.HoldFirstCommit();
  std::atomic<int> fatal_calls{0};
  std::vector<absl::Status> outcomes(5, absl::UnknownError("unanswered"));
  auto writer = StartWriter(
      {.on_fatal_error = [&](const absl::Status&) { ++fatal_calls; }});
  writer->Submit(Insert(0, &outcomes));
  observer_.WaitUntilHeld();
  writer->Submit(Insert(1, &outcomes));
  writer->Submit(Unsaved(
      {.apply =
           [](SqliteConnection& c) {
             // Half a write, then a refusal: nothing can undo just this.
             EXPECT_TRUE(c.Exec("INSERT INTO rows (v) VALUES (50)").ok());
             return absl::AlreadyExistsError("refused late");
           },
       .done = [&](absl::Status s) { outcomes[2] = std::move(s); }}));
  writer->Submit(Insert(3, &outcomes));
  observer_.Release();
  writer.reset();
  EXPECT_TRUE(outcomes[0].ok());
  for (int v : {1, 2, 3}) {
    EXPECT_EQ(outcomes[v].code(), absl::StatusCode::kUnavailable) << v;
  }
  EXPECT_THAT(outcomes[2].message(), HasSubstr("refused late"));
  EXPECT_EQ(CountRows(), 1);  // only the first batch: not 1, 50 or 3
  EXPECT_EQ(fatal_calls.load(), 1);
  EXPECT_EQ(observer_.failures().size(), 1u);
}

TEST_F(GroupCommitWriterTest, AFailedFsyncFailsTheBatchAndEveryLaterWrite) {
  auto vfs = SqliteFaultVfs::Register("group-commit-fsync");
  ASSERT_NE(vfs, nullptr);
  std::atomic<int> fatal_calls{0};
  std::vector<absl::Status> outcomes(3, absl::UnknownError("unanswered"));
  {
    auto writer = StartWriter(
        {.on_fatal_error = [&](const absl::Status&) { ++fatal_calls; }},
        vfs->name());
    absl::Notification first;
    writer->Submit(Insert(0, &outcomes, &first));
    first.WaitForNotification();
    vfs->FailSyncs();
    absl::Notification second;
    writer->Submit(Insert(1, &outcomes, &second));
    second.WaitForNotification();
    vfs->Heal();  // a healed disk changes nothing: the writer stays failed
    absl::Notification third;
    writer->Submit(Insert(2, &outcomes, &third));
    third.WaitForNotification();
    EXPECT_EQ(writer->failure().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_TRUE(outcomes[0].ok());
  EXPECT_EQ(outcomes[1].code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(outcomes[1].message(), HasSubstr("storage failure"));
  EXPECT_EQ(outcomes[2].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fatal_calls.load(), 1);
  EXPECT_EQ(observer_.failures().size(), 1u);
}

TEST_F(GroupCommitWriterTest, SubmitAfterStopIsAnsweredAtOnce) {
  std::vector<absl::Status> outcomes(1, absl::UnknownError("unanswered"));
  auto writer = StartWriter({});
  writer->Stop();
  writer->Submit(Insert(0, &outcomes));
  EXPECT_EQ(outcomes[0].code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace corosched::server
