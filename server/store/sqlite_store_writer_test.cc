// The SQLite store's write path: group commit across its public API, the
// answers and where they run, the status counts, retention, and the
// recovery scan. Progress writes: sqlite_store_progress_test.cc.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/sqlite_test_dir.h"
#include "server/store/testing/sqlite_writer_test_fixture.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using test_records::Finish;
using test_records::kT0;
using test_records::Output;
using test_records::Task;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(SqliteStoreWriterTest, ConcurrentSubmitsShareOneCommitAndOneFsync) {
  observer_.HoldFirstCommit();
  Open();
  store_->CreateTaskAsync(Task("first", v1::TASK_STATUS_READY), {}, nullptr);
  observer_.WaitUntilHeld();  // its commit is in flight; the rest queue
  const int64_t syncs_before = vfs_->syncs();
  constexpr int kTasks = 100;
  absl::BlockingCounter answered(kTasks);
  std::atomic<int> created{0};
  for (int i = 0; i < kTasks; ++i) {
    store_->CreateTaskAsync(
        Task(absl::StrCat("t", i), v1::TASK_STATUS_READY), {Output("x")},
        [&](const absl::StatusOr<CreateTaskResult>& result) {
          if (result.ok() && result->created) ++created;
          answered.DecrementCount();
        });
  }
  observer_.Release();
  answered.Wait();
  EXPECT_EQ(created.load(), kTasks);
  EXPECT_THAT(observer_.batches(), ElementsAre(1, kTasks));
  // One commit of 100 writes: a couple of syncs of the WAL, never 100.
  EXPECT_LE(vfs_->syncs() - syncs_before, 3);
}

TEST_F(SqliteStoreWriterTest, ConcurrentSynchronousCallersAreAllDurable) {
  Open();
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> acknowledged{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string id = absl::StrCat("t", t, "-", i);
        if (blocking().CreateTask(Task(id, v1::TASK_STATUS_READY), {}).ok()) {
          ++acknowledged;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(acknowledged.load(), kThreads * kEach);
  EXPECT_EQ(observer_.writes(), kThreads * kEach);
  EXPECT_THAT(observer_.synced(), Each(true));
  store_.reset();
  auto reopened = SqliteStore::Open({.data_dir = dir_.path()});
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->CountUnfinishedTasks().value_or(0),
            static_cast<uint64_t>(kThreads * kEach));
}

TEST_F(SqliteStoreWriterTest, AsyncAnswersComeAfterTheCommitOnTheWriter) {
  Open();
  absl::Notification answered;
  absl::StatusOr<TaskRecord> read_back = absl::UnknownError("unread");
  absl::Status nested_write;
  store_->CreateTaskAsync(
      Task("t", v1::TASK_STATUS_READY), {},
      [&](const absl::StatusOr<CreateTaskResult>& result) {
        EXPECT_TRUE(result.ok());
        read_back = store_->GetTask("t");  // committed: readers see it
        nested_write = blocking()
                           .CreateTask(Task("u", v1::TASK_STATUS_READY), {})
                           .status();
        answered.Notify();
      });
  answered.WaitForNotification();
  EXPECT_TRUE(read_back.ok()) << read_back.status();
  EXPECT_EQ(nested_write.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(nested_write.message()), HasSubstr("Async"));
}

// The writer keeps task_counts itself, once per batch: after every kind of
// write (creates, progress, wakes, refusals, purges, several to a batch) the
// counts equal a recount of the tasks table.
TEST_F(SqliteStoreWriterTest, CountsMatchARecountAfterEveryKindOfWrite) {
  Open({.purge_chunk_tasks = 3});
  const std::string db = dir_.file(SqliteStore::kDatabaseFile);
  auto expect_recount = [&](const std::string& after) {
    auto counts = store_->CountTasksByStatus();
    ASSERT_TRUE(counts.ok()) << counts.status();
    uint64_t total = 0;
    for (const auto& [status, count] : *counts) {
      EXPECT_EQ(static_cast<int64_t>(count),
                QuerySqlInt(db, absl::StrCat("SELECT count(*) FROM tasks "
                                             "WHERE status = ",
                                             static_cast<int>(status))))
          << "after " << after << ", status " << status;
      total += count;
    }
    EXPECT_EQ(static_cast<int64_t>(total),
              QuerySqlInt(db, "SELECT count(*) FROM tasks"))
        << "after " << after;
  };
  // Ten creates and their progress queued together: one or a few batches.
  absl::BlockingCounter written(20);
  for (int i = 0; i < 10; ++i) {
    const std::string id = absl::StrCat("t", i);
    store_->CreateTaskAsync(Task(id, v1::TASK_STATUS_READY), {},
                            [&](auto) { written.DecrementCount(); });
    TaskProgress progress;
    progress.snapshot.set_status(i % 2 == 0 ? v1::TASK_STATUS_AWAITING
                                            : v1::TASK_STATUS_SLEEPING);
    store_->RecordProgressAsync(id, std::move(progress),
                                [&](auto) { written.DecrementCount(); });
  }
  written.Wait();
  expect_recount("creates and progress");
  // Refused writes change nothing.
  EXPECT_EQ(blocking()
                .CreateTask(Task("t0", v1::TASK_STATUS_READY), {})
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(blocking()
                .RecordProgress("nobody", Finish(v1::TASK_STATUS_FAILED, kT0))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  expect_recount("refusals");
  // Wakes, with a request id and without (a wake keeps the task's status).
  v1::PendingSignal signal;
  signal.mutable_signal()->set_name("go");
  ASSERT_TRUE(blocking().RecordWakeSignal("t0", "w1", {}, signal).ok());
  ASSERT_TRUE(blocking().RecordWakeSignal("t2", "", {}, signal).ok());
  expect_recount("wakes");
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(blocking()
                    .RecordProgress(absl::StrCat("t", i),
                                    Finish(i < 5 ? v1::TASK_STATUS_COMPLETED
                                                 : v1::TASK_STATUS_FAILED,
                                           kT0))
                    .ok());
  }
  expect_recount("finishes");
  auto purged = blocking().PurgeFinishedBefore(kT0 + absl::Seconds(1), 100);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 7);
  expect_recount("a purge in three writes");
  // And the counts were stored, not only kept in memory.
  store_.reset();
  vfs_.reset();  // registered again under the same name
  Open();
  expect_recount("a reopen");
}

TEST_F(SqliteStoreWriterTest, PurgesOnlyTasksFinishedBeforeTheCutoff) {
  Open({.purge_chunk_tasks = 2});
  const absl::Time cutoff = kT0 + absl::Hours(24);
  for (int i = 0; i < 5; ++i) AddTask(absl::StrCat("old", i), kT0);
  AddTask("recent", cutoff + absl::Seconds(1));
  AddTask("running");
  ASSERT_TRUE(blocking().RecordWakeSignal("old0", "r", {}, {}).ok());
  const size_t commits_before = observer_.batches().size();

  auto purged = blocking().PurgeFinishedBefore(cutoff, 100);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 5);
  // Five tasks two at a time: three separate writes, never one big one.
  std::vector<int> batches = observer_.batches();
  EXPECT_EQ(batches.size() - commits_before, 3u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(store_->GetTask(absl::StrCat("old", i)).status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_TRUE(store_->GetTask("recent").ok());
  EXPECT_TRUE(store_->GetTask("running").ok());
  EXPECT_EQ((*store_->CountTasksByStatus())[v1::TASK_STATUS_COMPLETED], 1u);
  store_.reset();
  const std::string db = dir_.file(SqliteStore::kDatabaseFile);
  // recent: its output and its end; running: its output.
  EXPECT_EQ(QuerySqlInt(db, "SELECT count(*) FROM events"), 3);
  EXPECT_EQ(QuerySqlInt(db, "SELECT count(*) FROM wakes"), 0);
}

TEST_F(SqliteStoreWriterTest, PurgeStopsAtMaxRows) {
  Open({.purge_chunk_tasks = 100});
  for (int i = 0; i < 4; ++i) AddTask(absl::StrCat("old", i), kT0);
  EXPECT_EQ(
      blocking().PurgeFinishedBefore(kT0 + absl::Hours(1), 3).value_or(-1), 3);
  EXPECT_EQ(
      blocking().PurgeFinishedBefore(kT0 + absl::Hours(1), 3).value_or(-1), 1);
  EXPECT_EQ(
      blocking().PurgeFinishedBefore(kT0 + absl::Hours(1), 3).value_or(-1), 0);
}

TEST_F(SqliteStoreWriterTest, LoadsExactlyTheUnfinishedTasksWithTheirState) {
  Open();
  for (int i = 0; i < 7; ++i) {
    TaskRecord task = Task(absl::StrCat("t", i), v1::TASK_STATUS_AWAITING,
                           "hello", {{"n", absl::StrCat(i)}});
    task.start_at = kT0 + absl::Seconds(i);
    ASSERT_TRUE(blocking().CreateTask(task, {Output("o")}).ok());
  }
  for (int i : {1, 4}) {
    ASSERT_TRUE(blocking()
                    .RecordProgress(absl::StrCat("t", i),
                                    Finish(v1::TASK_STATUS_FAILED, kT0))
                    .ok());
  }
  v1::PendingSignal approve;
  approve.mutable_signal()->set_name("approve");
  approve.set_sequence(1);
  ASSERT_TRUE(blocking().RecordWakeSignal("t5", "", {}, approve).ok());
  EXPECT_EQ(store_->CountUnfinishedTasks().value_or(0), 5u);

  std::vector<std::string> ids;
  absl::Status scanned = store_->ForEachUnfinishedTask(
      [&](TaskRecord record) {
        ids.push_back(record.id);
        EXPECT_EQ(record.labels.at("n"), record.id.substr(1));
        EXPECT_EQ(record.start_at,
                  kT0 + absl::Seconds(std::stoi(record.id.substr(1))));
        EXPECT_EQ(record.last_event_sequence, 1u);
        EXPECT_EQ(record.definition->name(), "hello");
        EXPECT_EQ(record.snapshot.mailbox_size(), record.id == "t5" ? 1 : 0);
        return absl::OkStatus();
      },
      /*page_size=*/2);
  ASSERT_TRUE(scanned.ok()) << scanned;
  EXPECT_THAT(ids, ElementsAre("t0", "t2", "t3", "t5", "t6"));

  int visited = 0;
  absl::Status stopped = store_->ForEachUnfinishedTask(
      [&](const TaskRecord&) {
        return ++visited == 2 ? absl::CancelledError("enough")
                              : absl::OkStatus();
      },
      /*page_size=*/1000);
  EXPECT_EQ(stopped.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(visited, 2);
}

TEST_F(SqliteStoreWriterTest, RecoveryParsesEachDefinitionOnceAcrossPages) {
  Open();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(
        blocking()
            .CreateTask(Task(absl::StrCat("t", i), v1::TASK_STATUS_AWAITING,
                             i % 2 == 0 ? "even" : "odd"),
                        {})
            .ok());
  }
  std::map<std::string, std::set<const v1::TaskDefinition*>> messages;
  absl::Status scanned = store_->ForEachUnfinishedTask(
      [&](const TaskRecord& record) {
        const int i = std::stoi(record.id.substr(1));
        EXPECT_EQ(record.definition->name(), i % 2 == 0 ? "even" : "odd");
        messages[record.definition->name()].insert(
            record.definition.shared().get());
        return absl::OkStatus();
      },
      /*page_size=*/2);  // tasks of one definition on different pages
  ASSERT_TRUE(scanned.ok()) << scanned;
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages["even"].size(), 1u);
  EXPECT_EQ(messages["odd"].size(), 1u);
}

TEST_F(SqliteStoreWriterTest, TasksShareOneStoredCopyOfTheirDefinition) {
  Open();
  for (int i = 0; i < 20; ++i) AddTask(absl::StrCat("t", i));
  store_.reset();
  EXPECT_EQ(QuerySqlInt(dir_.file(SqliteStore::kDatabaseFile),
                        "SELECT count(*) FROM task_definitions"),
            1);
}

// The writer remembers the id of a shared definition message; a different
// message (even with the same contents) is looked up, never confused.
TEST_F(SqliteStoreWriterTest, SharedDefinitionsAreStoredOnceAndReadBackRight) {
  Open();
  const SharedDefinition a(test_records::Definition("a", "1", "from a"));
  const SharedDefinition b(test_records::Definition("b", "1", "from b"));
  const SharedDefinition a_again(
      test_records::Definition("a", "1", "from a"));  // equal, not shared
  const std::vector<std::pair<std::string, const SharedDefinition*>> tasks = {
      {"a1", &a}, {"b1", &b}, {"a2", &a}, {"a3", &a_again}, {"b2", &b}};
  for (const auto& [id, definition] : tasks) {
    TaskRecord record = Task(id, v1::TASK_STATUS_READY);
    record.definition = *definition;
    ASSERT_TRUE(blocking().CreateTask(record, {}).ok()) << id;
  }
  for (const auto& [id, definition] : tasks) {
    absl::StatusOr<TaskRecord> stored = store_->GetTask(id);
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(stored->definition->SerializeAsString(),
              (*definition)->SerializeAsString())
        << id;
  }
  store_.reset();
  EXPECT_EQ(QuerySqlInt(dir_.file(SqliteStore::kDatabaseFile),
                        "SELECT count(*) FROM task_definitions"),
            2);
}

// A create whose definition id the writer has cached finds a taken id
// through its insert: the same request again gets the task as it is,
// another request ALREADY_EXISTS, and neither writes anything.
TEST_F(SqliteStoreWriterTest, ATakenIdIsFoundWhenTheDefinitionIsCached) {
  Open();
  const SharedDefinition shared(test_records::Definition("a", "1", "x"));
  TaskRecord first = Task("t", v1::TASK_STATUS_READY);
  first.definition = shared;
  first.request_fingerprint = "request-1";
  auto created = blocking().CreateTask(first, {Output("o")});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  const std::string db = dir_.file(SqliteStore::kDatabaseFile);
  const int64_t changes_before = QuerySqlInt(db, "SELECT count(*) FROM events");

  TaskRecord again = first;  // the same request, its definition cached
  again.snapshot.set_state("changed");  // must not be written
  auto repeated = blocking().CreateTask(again, {Output("o")});
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  EXPECT_FALSE(repeated->created);
  EXPECT_EQ(repeated->record.snapshot.state(), "A");

  TaskRecord other = first;
  other.request_fingerprint = "request-2";
  auto refused = blocking().CreateTask(other, {Output("o")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists);

  EXPECT_EQ(QuerySqlInt(db, "SELECT count(*) FROM tasks"), 1);
  EXPECT_EQ(QuerySqlInt(db, "SELECT count(*) FROM events"), changes_before);
  auto counts = store_->CountTasksByStatus();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts,
            (std::map<v1::TaskStatus, uint64_t>{{v1::TASK_STATUS_READY, 1}}));
}

}  // namespace
}  // namespace corosched::server
