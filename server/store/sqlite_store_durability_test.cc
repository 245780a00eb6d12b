// The SQLite store across restarts: what was acknowledged is there after a
// reopen, the data directory is locked, and a database the store must not
// touch (newer schema, damaged, someone else's) stops it with a clear
// message and is left as it was.

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/sqlite_schema.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/sqlite_test_dir.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using test_records::Definition;
using test_records::Finish;
using test_records::Ids;
using test_records::kT0;
using test_records::Output;
using test_records::Task;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SqliteStoreDurabilityTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<SqliteStore>> Open() {
    return SqliteStore::Open({.data_dir = dir_.path()});
  }
  std::unique_ptr<SqliteStore> OpenOrDie() {
    auto store = Open();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::string database() const { return dir_.file(SqliteStore::kDatabaseFile); }

  std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  SqliteTestDir dir_;
};

TEST_F(SqliteStoreDurabilityTest, EverythingAcknowledgedIsThereAfterReopen) {
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(BlockingStore(*store)
                    .PutDefinition(Definition("hello", "1"), kT0)
                    .ok());
    TaskRecord task =
        Task("t1", v1::TASK_STATUS_AWAITING, "hello", {{"team", "x"}});
    task.request_fingerprint = "request-1";
    task.start_at = kT0 + absl::Seconds(5);
    ASSERT_TRUE(BlockingStore(*store).CreateTask(task, {Output("a")}).ok());
    ASSERT_TRUE(BlockingStore(*store)
                    .CreateTask(Task("t2", v1::TASK_STATUS_READY), {})
                    .ok());
    v1::PendingSignal signal;
    signal.set_sequence(1);
    ASSERT_TRUE(BlockingStore(*store)
                    .RecordWakeSignal(
                        "t1", "r1", {v1::WakeTaskResponse::BUFFERED, 1}, signal)
                    .ok());
    ASSERT_TRUE(
        BlockingStore(*store)
            .RecordProgress("t2", Finish(v1::TASK_STATUS_COMPLETED, kT0))
            .ok());
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->GetDefinition("hello", "1").ok());
  auto t1 = store->GetTask("t1");
  ASSERT_TRUE(t1.ok()) << t1.status();
  EXPECT_EQ(t1->snapshot.mailbox_size(), 1);
  EXPECT_EQ(t1->start_at, kT0 + absl::Seconds(5));
  EXPECT_EQ(t1->labels.at("team"), "x");
  EXPECT_EQ((*BlockingStore(*store).FindWake("t1", "r1"))->sequence, 1u);
  EXPECT_EQ(store->ReadEvents("t1", 0, 10)->events[0].output().text(), "a");
  auto t2 = store->GetTask("t2");
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(t2->finished_at, kT0);
  EXPECT_TRUE(store->ReadEvents("t2", 0, 10)->task_ended);
  EXPECT_THAT(Ids(*store->ListTasks({.page_size = 10})),
              ElementsAre("t2", "t1"));
  // Idempotency keys still de-duplicate after the restart.
  TaskRecord again = Task("t1", v1::TASK_STATUS_AWAITING);
  again.request_fingerprint = "request-1";
  auto repeated = BlockingStore(*store).CreateTask(again, {});
  ASSERT_TRUE(repeated.ok());
  EXPECT_FALSE(repeated->created);
  again.request_fingerprint = "request-2";
  EXPECT_EQ(BlockingStore(*store).CreateTask(again, {}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(SqliteStoreDurabilityTest, ClosingCommitsAndAnswersQueuedWrites) {
  constexpr int kTasks = 50;
  std::vector<absl::Status> answers(kTasks, absl::UnknownError("unanswered"));
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < kTasks; ++i) {
      store->CreateTaskAsync(
          Task(absl::StrCat("t", i), v1::TASK_STATUS_READY), {},
          [&answers, i](const absl::StatusOr<CreateTaskResult>& result) {
            answers[i] = result.status();
          });
    }
  }  // destroyed at once, with writes still queued
  for (const absl::Status& answer : answers) EXPECT_TRUE(answer.ok()) << answer;
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->ListTasks({.page_size = 100})->tasks.size(),
            static_cast<size_t>(kTasks));
}

// Reads queued when the store closes are answered too, among them those
// that the last writes' callbacks make (and they see those writes).
TEST_F(SqliteStoreDurabilityTest, ClosingAnswersQueuedReads) {
  constexpr int kTasks = 50;
  std::vector<absl::Status> reads(kTasks, absl::UnknownError("unanswered"));
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    SqliteStore* closing = store.get();
    for (int i = 0; i < kTasks; ++i) {
      const std::string id = absl::StrCat("t", i);
      closing->CreateTaskAsync(
          Task(id, v1::TASK_STATUS_READY), {},
          [&reads, closing, id, i](const absl::StatusOr<CreateTaskResult>&) {
            closing->GetTaskAsync(
                id, [&reads, i](const absl::StatusOr<TaskRecord>& t) {
                  reads[i] = t.status();
                });
          });
    }
  }  // destroyed at once, with writes and then reads still queued
  for (const absl::Status& read : reads) EXPECT_TRUE(read.ok()) << read;
}

TEST_F(SqliteStoreDurabilityTest, CreatesTheSchemaInWalMode) {
  { ASSERT_NE(OpenOrDie(), nullptr); }
  EXPECT_EQ(QuerySqlInt(database(), "PRAGMA user_version"),
            kSqliteSchemaVersion);
  EXPECT_EQ(QuerySqlInt(database(), "PRAGMA application_id"),
            kSqliteApplicationId);
  EXPECT_EQ(RunSql(database(),
                   "SELECT 1 FROM pragma_journal_mode "
                   "WHERE journal_mode = 'wal'"),
            "");
}

TEST_F(SqliteStoreDurabilityTest, ASecondStoreOnTheSameDirectoryIsRefused) {
  auto first = OpenOrDie();
  ASSERT_NE(first, nullptr);
  auto second = Open();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()),
              AllOf(HasSubstr(dir_.path()), HasSubstr("in use"),
                    HasSubstr(absl::StrCat("pid ", getpid())),
                    HasSubstr("--data-dir")));
  first.reset();  // the lock goes with the store
  EXPECT_TRUE(Open().ok());
}

// A database of schema version 1, whose task counts triggers kept, opens
// under this build: the migration drops the triggers, the counts carry
// over, and the writer keeps them from then on.
TEST_F(SqliteStoreDurabilityTest, MigratesAVersion1DatabaseKeepingItsCounts) {
  {
    auto connection = OpenStoreDatabase({.path = database(), .writer = true},
                                        {.target_version = 1});
    ASSERT_TRUE(connection.ok()) << connection.status();
    // Rows as version 1 wrote them; its triggers count them.
    ASSERT_TRUE((*connection)
                    ->Exec("INSERT INTO task_definitions (id, digest, "
                           "definition) VALUES (1, 0, X'');"
                           "INSERT INTO tasks (id, request_fingerprint, "
                           "definition_id, definition_name, "
                           "inputs_and_labels, created_at_ns, status, "
                           "snapshot, last_event_sequence) VALUES "
                           "('a', X'', 1, 'd', X'', 1, 1, X'', 0), "
                           "('b', X'', 1, 'd', X'', 1, 1, X'', 0), "
                           "('c', X'', 1, 'd', X'', 1, 3, X'', 0);"
                           "UPDATE tasks SET status = 4 WHERE id = 'b';")
                    .ok());
  }
  ASSERT_EQ(QuerySqlInt(database(), "PRAGMA user_version"), 1);
  ASSERT_EQ(
      QuerySqlInt(database(), "SELECT count FROM task_counts WHERE status = 4"),
      1);
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QuerySqlInt(database(), "PRAGMA user_version"),
            kSqliteSchemaVersion);
  EXPECT_EQ(QuerySqlInt(database(),
                        "SELECT count(*) FROM sqlite_schema "
                        "WHERE type = 'trigger'"),
            0);
  auto counts = store->CountTasksByStatus();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts, (std::map<v1::TaskStatus, uint64_t>{
                         {v1::TASK_STATUS_READY, 1},
                         {v1::TASK_STATUS_AWAITING, 1},
                         {v1::TASK_STATUS_COMPLETED, 1}}));
  ASSERT_TRUE(BlockingStore(*store)
                  .CreateTask(Task("d", v1::TASK_STATUS_READY), {})
                  .ok());
  ASSERT_TRUE(BlockingStore(*store)
                  .RecordProgress("d", Finish(v1::TASK_STATUS_COMPLETED, kT0))
                  .ok());
  counts = store->CountTasksByStatus();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts, (std::map<v1::TaskStatus, uint64_t>{
                         {v1::TASK_STATUS_READY, 1},
                         {v1::TASK_STATUS_AWAITING, 1},
                         {v1::TASK_STATUS_COMPLETED, 2}}));
}

// Events written one row each (schema versions 1 and 2) read back, after
// the migration, in order with those written since, a write's to a row.
TEST_F(SqliteStoreDurabilityTest, ReadsEventRowsOfEveryEncodingInOrder) {
  {
    auto connection = OpenStoreDatabase({.path = database(), .writer = true},
                                        {.target_version = 2});
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE((*connection)
                    ->Exec("INSERT INTO task_definitions (id, digest, "
                           "definition) VALUES (1, 0, X'');"
                           "INSERT INTO tasks (position, id, "
                           "request_fingerprint, definition_id, "
                           "definition_name, inputs_and_labels, "
                           "created_at_ns, status, snapshot, "
                           "last_event_sequence) VALUES "
                           "(1, 't', X'', 1, 'd', X'', 1, 3, X'', 2);")
                    .ok());
    for (uint64_t sequence : {1, 2}) {
      v1::TaskEvent event = Output(absl::StrCat("old ", sequence));
      event.set_sequence(sequence);
      auto insert = (*connection)
                        ->Prepare(
                            "INSERT INTO events (task, sequence, event) "
                            "VALUES (1, ?1, ?2)");
      ASSERT_TRUE(insert.ok());
      insert->BindInt(1, static_cast<int64_t>(sequence));
      insert->BindBlob(2, event.SerializeAsString());
      ASSERT_TRUE(insert->Run().ok());
    }
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_AWAITING);
  progress.events = {Output("new 3"), Output("new 4")};
  auto last = BlockingStore(*store).RecordProgress("t", std::move(progress));
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, 4u);
  EXPECT_EQ(QuerySqlInt(database(), "SELECT count(*) FROM events"), 3);

  auto texts = [&](uint64_t after, int max) {
    std::vector<std::string> out;
    auto batch = store->ReadEvents("t", after, max);
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok()) return out;
    for (const v1::TaskEvent& event : batch->events) {
      out.push_back(absl::StrCat(event.sequence(), " ", event.output().text()));
    }
    return out;
  };
  EXPECT_THAT(texts(0, 10),
              ElementsAre("1 old 1", "2 old 2", "3 new 3", "4 new 4"));
  EXPECT_THAT(texts(1, 2), ElementsAre("2 old 2", "3 new 3"));
  EXPECT_THAT(texts(3, 10), ElementsAre("4 new 4"));
}

TEST_F(SqliteStoreDurabilityTest, ADamagedEventRowIsDataLoss) {
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(BlockingStore(*store)
                    .CreateTask(Task("t", v1::TASK_STATUS_READY),
                                {Output("a"), Output("b")})
                    .ok());
  }
  // A run whose second event claims more bytes than there are.
  ASSERT_EQ(RunSql(database(), "UPDATE events SET event = X'0A00' || X'0A05'"),
            "");
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  auto batch = store->ReadEvents("t", 0, 10);
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(batch.status().message()),
              AllOf(HasSubstr("\"t\""), HasSubstr("cannot be parsed")));
}

TEST_F(SqliteStoreDurabilityTest, RefusesADatabaseFromANewerSchema) {
  { ASSERT_NE(OpenOrDie(), nullptr); }
  ASSERT_EQ(RunSql(database(), "PRAGMA user_version = 99"), "");
  auto store = Open();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()),
              AllOf(HasSubstr(database()), HasSubstr("schema version 99"),
                    HasSubstr("newer")));
  EXPECT_EQ(QuerySqlInt(database(), "PRAGMA user_version"), 99);  // untouched
}

TEST_F(SqliteStoreDurabilityTest, RefusesAFileThatIsNotADatabase) {
  const std::string garbage(8192, 'x');
  std::ofstream(database(), std::ios::binary) << garbage;
  auto store = Open();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(store.status().message()),
              AllOf(HasSubstr(database()), HasSubstr("damaged"),
                    HasSubstr("backup"), HasSubstr("never replaces")));
  EXPECT_EQ(ReadFile(database()), garbage);
}

TEST_F(SqliteStoreDurabilityTest, RefusesACorruptDatabase) {
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(
          BlockingStore(*store)
              .CreateTask(Task(absl::StrCat("task-", i), v1::TASK_STATUS_READY),
                          {Output(std::string(100, 'o'))})
              .ok());
    }
  }  // closed: the WAL is checkpointed into the database file
  std::string bytes = ReadFile(database());
  constexpr size_t kPage = 4096;  // SQLite's default page size
  ASSERT_GT(bytes.size(), 8 * kPage);
  for (size_t i = 2 * kPage; i < 6 * kPage; ++i) bytes[i] = '\xA5';
  std::ofstream(database(), std::ios::binary | std::ios::trunc) << bytes;
  auto store = Open();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(
      std::string(store.status().message()),
      AllOf(HasSubstr(database()), HasSubstr("damaged"), HasSubstr("backup")));
  EXPECT_EQ(ReadFile(database()), bytes);
}

TEST_F(SqliteStoreDurabilityTest, RefusesAnotherProgramsDatabase) {
  ASSERT_EQ(RunSql(database(), "CREATE TABLE accounts (id INTEGER)"),
            "unable to open database file");  // RunSql never creates files
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(database().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE accounts (id INTEGER)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = Open();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()),
              AllOf(HasSubstr(database()), HasSubstr("another program")));
}

}  // namespace
}  // namespace corosched::server
