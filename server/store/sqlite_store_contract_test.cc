// The TaskStore contract (task_store.h), run against every implementation:
// the in-memory reference, the SQLite store on a real file in a temporary
// directory and, when COROSCHED_TEST_POSTGRES_URL names a server, the
// PostgreSQL store on a fresh database of its own (joined, so that it owns
// the tasks it creates). What the daemon relies on must hold for each.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/postgres_test_database.h"
#include "server/store/testing/sqlite_test_dir.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using test_records::Definition;
using test_records::Finished;
using test_records::Ids;
using test_records::kT0;
using test_records::Output;
using test_records::Task;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct StoreKind {
  std::string name;
  bool durable = false;
  bool postgres = false;
};

// Events each store keeps per task in these tests.
constexpr uint64_t kMaxEvents = 100;

class TaskStoreContractTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (!GetParam().durable) {
      store_ = std::make_unique<MemoryStore>(
          MemoryStoreOptions{.max_events_per_task = kMaxEvents});
      return;
    }
    if (GetParam().postgres) {
      pg_ = std::make_unique<PostgresTestDatabase>();
      ASSERT_TRUE(pg_->error().ok()) << pg_->error();
      auto opened = PostgresStore::Open({.url = pg_->url(),
                                         .connections = 2,
                                         .max_events_per_task = kMaxEvents});
      ASSERT_TRUE(opened.ok()) << opened.status();
      ASSERT_TRUE((*opened)->Join(absl::Minutes(10)).ok());
      store_ = *std::move(opened);
      return;
    }
    ASSERT_FALSE(dir_.path().empty());
    auto opened = SqliteStore::Open(
        {.data_dir = dir_.path(), .max_events_per_task = kMaxEvents});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  TaskStore& store() { return *store_; }
  // The store's ...Async calls, each waited for.
  BlockingStore blocking() { return BlockingStore(*store_); }

  SqliteTestDir dir_;
  std::unique_ptr<PostgresTestDatabase> pg_;  // outlives the store
  std::unique_ptr<TaskStore> store_;
};

TEST_P(TaskStoreContractTest, RegistersDefinitionsOnceAndRefusesChanges) {
  auto first = blocking().PutDefinition(Definition("hello", "1"), kT0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  auto again =
      blocking().PutDefinition(Definition("hello", "1"), kT0 + absl::Hours(1));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->record.registered_at, kT0);
  auto changed = blocking().PutDefinition(Definition("hello", "1", "bye"), kT0);
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(changed.status().message(), HasSubstr("new version"));
}

TEST_P(TaskStoreContractTest, GetsLatestVersionWhenVersionIsEmpty) {
  ASSERT_TRUE(blocking().PutDefinition(Definition("hello", "2"), kT0).ok());
  ASSERT_TRUE(blocking().PutDefinition(Definition("hello", "1"), kT0).ok());
  auto latest = store().GetDefinition("hello", "");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->definition.version(), "1");  // registered last
  EXPECT_EQ(store().GetDefinition("hello", "3").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().GetDefinition("nope", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(TaskStoreContractTest, ListsDefinitionsNewestFirstInPages) {
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(
        blocking().PutDefinition(Definition("a", absl::StrCat(i)), kT0).ok());
    ASSERT_TRUE(
        blocking().PutDefinition(Definition("b", absl::StrCat(i)), kT0).ok());
  }
  DefinitionQuery query{.name = "a", .page_size = 2};
  std::vector<std::string> versions;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store().ListDefinitions(query);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& record : page->definitions) {
      EXPECT_EQ(record.definition.name(), "a");
      versions.push_back(record.definition.version());
    }
    if (page->next_page_token.empty()) break;
    query.page_token = page->next_page_token;
  }
  EXPECT_THAT(versions, ElementsAre("5", "4", "3", "2", "1"));
}

TEST_P(TaskStoreContractTest, CreateIsIdempotentForTheSameFingerprint) {
  TaskRecord record = Task("t1", v1::TASK_STATUS_READY);
  record.request_fingerprint = "request-a";
  auto created = blocking().CreateTask(record, {Output("x")});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->record.last_event_sequence, 1u);

  auto repeated = blocking().CreateTask(record, {Output("y")});
  ASSERT_TRUE(repeated.ok());
  EXPECT_FALSE(repeated->created);
  EXPECT_EQ(repeated->record.last_event_sequence, 1u);  // nothing written

  record.request_fingerprint = "request-b";
  EXPECT_EQ(blocking().CreateTask(record, {}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_P(TaskStoreContractTest, DaemonChosenIdsAreNeverReused) {
  TaskRecord record = Task("t1", v1::TASK_STATUS_READY);  // no fingerprint
  ASSERT_TRUE(blocking().CreateTask(record, {}).ok());
  EXPECT_EQ(blocking().CreateTask(record, {}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_P(TaskStoreContractTest, KeepsEveryFieldOfATask) {
  TaskRecord record = Task("t", v1::TASK_STATUS_SLEEPING, "hello",
                           {{"team", "x"}, {"tier", "gold"}});
  record.request_fingerprint = std::string("\0binary\xff", 8);
  record.inputs["n"].set_number(3);
  record.inputs["who"].set_string("ana");
  record.start_at = kT0 + absl::Nanoseconds(1500);
  record.snapshot.mutable_deadline()->set_seconds(1700000100);
  record.snapshot.add_mailbox()->set_sequence(4);
  ASSERT_TRUE(blocking().CreateTask(record, {}).ok());
  auto stored = store().GetTask("t");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->request_fingerprint, record.request_fingerprint);
  EXPECT_EQ(stored->definition->SerializeAsString(),
            record.definition->SerializeAsString());
  EXPECT_EQ(stored->inputs.at("n").number(), 3);
  EXPECT_EQ(stored->inputs.at("who").string(), "ana");
  EXPECT_EQ(stored->labels, record.labels);
  EXPECT_EQ(stored->created_at, kT0);
  EXPECT_EQ(stored->start_at, record.start_at);
  EXPECT_FALSE(stored->finished_at.has_value());
  EXPECT_EQ(stored->snapshot.SerializeAsString(),
            record.snapshot.SerializeAsString());
}

TEST_P(TaskStoreContractTest, UnknownTaskIsNotFoundEverywhere) {
  EXPECT_EQ(store().GetTask("x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store().ReadEvents("x", 0, 10).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(blocking().RecordProgress("x", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(blocking().FindWake("x", "r").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(blocking().RecordWakeSignal("x", "r", {}, {}).code(),
            absl::StatusCode::kNotFound);
}

// The read a gRPC handler cannot wait for answers later (SQLite: on a
// reader thread), with what the blocking read returns.
TEST_P(TaskStoreContractTest, GetTaskAsyncAnswersAsGetTask) {
  ASSERT_TRUE(
      blocking()
          .CreateTask(Task("t", v1::TASK_STATUS_AWAITING), {Output("a")})
          .ok());
  for (const std::string id : {"t", "unknown"}) {
    absl::Notification answered;
    absl::StatusOr<TaskRecord> later = absl::UnknownError("unanswered");
    store().GetTaskAsync(id, [&](absl::StatusOr<TaskRecord> record) {
      later = std::move(record);
      answered.Notify();
    });
    ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    absl::StatusOr<TaskRecord> now = store().GetTask(id);
    ASSERT_EQ(later.status().code(), now.status().code()) << id;
    if (!now.ok()) continue;
    EXPECT_EQ(later->snapshot.SerializeAsString(),
              now->snapshot.SerializeAsString());
    EXPECT_EQ(later->last_event_sequence, 1u);
  }
  EXPECT_EQ(store().GetTask("unknown").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(TaskStoreContractTest, NumbersEventsAndReadsThemAfterASequence) {
  ASSERT_TRUE(blocking()
                  .CreateTask(Task("t", v1::TASK_STATUS_READY), {Output("a")})
                  .ok());
  auto unended = store().ReadEvents("t", 0, 10);
  ASSERT_TRUE(unended.ok());
  EXPECT_FALSE(unended->task_ended);
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_COMPLETED);
  progress.events = {Output("b"), Finished(v1::TASK_STATUS_COMPLETED)};
  progress.finished_at = kT0;
  auto last = blocking().RecordProgress("t", std::move(progress));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 3u);

  auto batch = store().ReadEvents("t", 1, 10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->events.size(), 2u);
  EXPECT_EQ(batch->events[0].sequence(), 2u);
  EXPECT_EQ(batch->events[0].output().text(), "b");
  EXPECT_TRUE(batch->events[1].has_finished());
  EXPECT_TRUE(batch->task_ended);
  EXPECT_EQ(batch->last_sequence, 3u);

  auto limited = store().ReadEvents("t", 0, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->events.size(), 1u);
  EXPECT_EQ(limited->events[0].sequence(), 1u);
  // Events 2 and 3 came in one write: reads may start and stop inside it.
  auto first_of_two = store().ReadEvents("t", 1, 1);
  ASSERT_TRUE(first_of_two.ok());
  ASSERT_EQ(first_of_two->events.size(), 1u);
  EXPECT_EQ(first_of_two->events[0].sequence(), 2u);
  auto second_of_two = store().ReadEvents("t", 2, 10);
  ASSERT_TRUE(second_of_two.ok());
  ASSERT_EQ(second_of_two->events.size(), 1u);
  EXPECT_EQ(second_of_two->events[0].sequence(), 3u);
  EXPECT_TRUE(second_of_two->events[0].has_finished());
  auto past_end = store().ReadEvents("t", 9, 10);
  ASSERT_TRUE(past_end.ok());
  EXPECT_THAT(past_end->events, IsEmpty());

  auto record = store().GetTask("t");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->finished_at, kT0);
  EXPECT_EQ(record->snapshot.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(record->last_event_sequence, 3u);
}

// A long log keeps at least its last kMaxEvents events (a store may keep a
// few more: whole rows, or drops in steps); reads of the dropped ones start
// at the first kept one, and the numbering goes on.
TEST_P(TaskStoreContractTest, KeepsTheLastEventsOfALongLog) {
  ASSERT_TRUE(blocking().CreateTask(Task("t", v1::TASK_STATUS_READY), {}).ok());
  constexpr uint64_t kEvents = 1000;
  for (uint64_t written = 0; written < kEvents;) {
    TaskProgress progress;
    progress.snapshot.set_status(v1::TASK_STATUS_READY);
    for (int i = 0; i < 10; ++i) {
      progress.events.push_back(Output(absl::StrCat(++written)));
    }
    ASSERT_TRUE(blocking().RecordProgress("t", std::move(progress)).ok());
  }
  auto from_start = store().ReadEvents("t", 0, 10);
  ASSERT_TRUE(from_start.ok()) << from_start.status();
  EXPECT_EQ(from_start->last_sequence, kEvents);
  ASSERT_FALSE(from_start->events.empty());
  const uint64_t first_kept = from_start->events[0].sequence();
  EXPECT_LE(first_kept, kEvents - kMaxEvents + 1);
  EXPECT_GT(first_kept, kEvents - kMaxEvents - kMaxEvents / 4);
  auto kept = store().ReadEvents("t", first_kept - 1, 2000);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->events.size(), kEvents - first_kept + 1);
  for (size_t i = 0; i < kept->events.size(); ++i) {
    EXPECT_EQ(kept->events[i].sequence(), first_kept + i);
    EXPECT_EQ(kept->events[i].output().text(), absl::StrCat(first_kept + i));
  }
  TaskProgress more;
  more.snapshot.set_status(v1::TASK_STATUS_READY);
  more.events = {Output("next")};
  EXPECT_EQ(blocking().RecordProgress("t", std::move(more)).value_or(0),
            kEvents + 1);
}

TEST_P(TaskStoreContractTest, ListsTasksNewestFirstWithFiltersAndPages) {
  for (int i = 0; i < 7; ++i) {
    TaskRecord record =
        Task(absl::StrCat("t", i),
             i % 2 == 0 ? v1::TASK_STATUS_AWAITING : v1::TASK_STATUS_READY,
             i < 5 ? "hello" : "other", {{"team", i % 3 == 0 ? "x" : "y"}});
    ASSERT_TRUE(blocking().CreateTask(record, {}).ok());
  }
  TaskQuery all{.page_size = 100};
  EXPECT_THAT(Ids(*store().ListTasks(all)),
              ElementsAre("t6", "t5", "t4", "t3", "t2", "t1", "t0"));
  TaskQuery awaiting{.status = v1::TASK_STATUS_AWAITING, .page_size = 100};
  EXPECT_THAT(Ids(*store().ListTasks(awaiting)),
              ElementsAre("t6", "t4", "t2", "t0"));
  TaskQuery hello_x{
      .definition_name = "hello", .labels = {{"team", "x"}}, .page_size = 100};
  EXPECT_THAT(Ids(*store().ListTasks(hello_x)), ElementsAre("t3", "t0"));
  TaskQuery two_labels{.labels = {{"team", "x"}, {"missing", "label"}},
                       .page_size = 100};
  EXPECT_THAT(Ids(*store().ListTasks(two_labels)), IsEmpty());

  TaskQuery paged{.page_size = 3};
  std::vector<std::string> ids;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store().ListTasks(paged);
    ASSERT_TRUE(page.ok());
    EXPECT_LE(page->tasks.size(), 3u);
    for (const std::string& id : Ids(*page)) ids.push_back(id);
    if (page->next_page_token.empty()) break;
    paged.page_token = page->next_page_token;
  }
  EXPECT_THAT(ids, ElementsAre("t6", "t5", "t4", "t3", "t2", "t1", "t0"));
}

// Namespaced keys (namespace_keys.h): a namespace's listing holds its own
// keys only, newest first, in pages, whatever the neighbours' names.
TEST_P(TaskStoreContractTest, ListsOnlyTheTasksOfANamespaceInPages) {
  for (const char* id : {"t0", "a/t0", "ab/t0", "a-x/t0", "a/t1", "t1",
                         "a.b/t0", "b/t0", "a/t2"}) {
    ASSERT_TRUE(
        blocking().CreateTask(Task(id, v1::TASK_STATUS_READY), {}).ok());
  }
  auto listed = [&](const std::string& ns, int page_size) {
    TaskQuery query{.namespace_name = ns, .page_size = page_size};
    std::vector<std::string> ids;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = store().ListTasks(query);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const std::string& id : Ids(*page)) ids.push_back(id);
      if (page->next_page_token.empty()) break;
      query.page_token = page->next_page_token;
    }
    return ids;
  };
  EXPECT_THAT(listed("a", 1), ElementsAre("a/t2", "a/t1", "a/t0"));
  EXPECT_THAT(listed("a", 2), ElementsAre("a/t2", "a/t1", "a/t0"));
  EXPECT_THAT(listed("default", 1), ElementsAre("t1", "t0"));
  EXPECT_THAT(listed("ab", 10), ElementsAre("ab/t0"));
  EXPECT_THAT(listed("c", 10), IsEmpty());
  TaskQuery ready_in_b{
      .namespace_name = "b", .status = v1::TASK_STATUS_READY, .page_size = 10};
  EXPECT_THAT(Ids(*store().ListTasks(ready_in_b)), ElementsAre("b/t0"));
}

TEST_P(TaskStoreContractTest, ListsOnlyTheDefinitionsOfANamespace) {
  for (const char* name : {"greet", "a/greet", "ab/greet", "a/other"}) {
    ASSERT_TRUE(blocking().PutDefinition(Definition(name, "1"), kT0).ok());
  }
  DefinitionQuery in_a{.namespace_name = "a", .page_size = 1};
  std::vector<std::string> names;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store().ListDefinitions(in_a);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& record : page->definitions) {
      names.push_back(record.definition.name());
    }
    if (page->next_page_token.empty()) break;
    in_a.page_token = page->next_page_token;
  }
  EXPECT_THAT(names, ElementsAre("a/other", "a/greet"));
  DefinitionQuery in_default{.namespace_name = "default", .page_size = 10};
  auto page = store().ListDefinitions(in_default);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->definitions.size(), 1u);
  EXPECT_EQ(page->definitions[0].definition.name(), "greet");
}

TEST_P(TaskStoreContractTest, RefusesPageTokensItDidNotIssue) {
  TaskQuery query{.page_size = 10, .page_token = "garbage"};
  auto page = store().ListTasks(query);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(page.status().message(), HasSubstr("page_token"));
  DefinitionQuery definitions{.page_size = 10, .page_token = "p1.x"};
  EXPECT_EQ(store().ListDefinitions(definitions).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(TaskStoreContractTest, CountsTasksByStatusAcrossChanges) {
  ASSERT_TRUE(blocking().CreateTask(Task("a", v1::TASK_STATUS_READY), {}).ok());
  ASSERT_TRUE(blocking().CreateTask(Task("b", v1::TASK_STATUS_READY), {}).ok());
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_AWAITING);
  ASSERT_TRUE(blocking().RecordProgress("a", progress).ok());
  auto counts = store().CountTasksByStatus();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts,
            (std::map<v1::TaskStatus, uint64_t>{
                {v1::TASK_STATUS_READY, 1}, {v1::TASK_STATUS_AWAITING, 1}}));
}

TEST_P(TaskStoreContractTest, CountsTasksByStatusInANamespace) {
  ASSERT_TRUE(blocking().CreateTask(Task("t", v1::TASK_STATUS_READY), {}).ok());
  ASSERT_TRUE(
      blocking().CreateTask(Task("a/t", v1::TASK_STATUS_READY), {}).ok());
  ASSERT_TRUE(
      blocking().CreateTask(Task("a/u", v1::TASK_STATUS_AWAITING), {}).ok());
  ASSERT_TRUE(
      blocking().CreateTask(Task("ab/t", v1::TASK_STATUS_READY), {}).ok());
  using Counts = std::map<v1::TaskStatus, uint64_t>;
  EXPECT_EQ(
      *store().CountTasksByStatusIn("a"),
      (Counts{{v1::TASK_STATUS_READY, 1}, {v1::TASK_STATUS_AWAITING, 1}}));
  EXPECT_EQ(*store().CountTasksByStatusIn("default"),
            (Counts{{v1::TASK_STATUS_READY, 1}}));
  EXPECT_EQ(*store().CountTasksByStatusIn("ab"),
            (Counts{{v1::TASK_STATUS_READY, 1}}));
  EXPECT_EQ(*store().CountTasksByStatusIn("b"), Counts{});
}

TEST_P(TaskStoreContractTest, RemembersTheFirstAnswerToAWakeRequestId) {
  ASSERT_TRUE(
      blocking().CreateTask(Task("t", v1::TASK_STATUS_AWAITING), {}).ok());
  auto none = blocking().FindWake("t", "r1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  v1::PendingSignal signal;  // a repeat of a request id repeats its signal
  signal.set_sequence(1);
  ASSERT_TRUE(blocking()
                  .RecordWakeSignal("t", "r1",
                                    {v1::WakeTaskResponse::BUFFERED, 1}, signal)
                  .ok());
  ASSERT_TRUE(blocking()
                  .RecordWakeSignal("t", "r1",
                                    {v1::WakeTaskResponse::CONSUMED, 2}, signal)
                  .ok());
  auto found = blocking().FindWake("t", "r1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->disposition, v1::WakeTaskResponse::BUFFERED);
  EXPECT_EQ((*found)->sequence, 1u);
  EXPECT_EQ(store().GetTask("t")->snapshot.mailbox_size(), 1);
  EXPECT_FALSE(blocking().FindWake("t", "r2")->has_value());
}

TEST_P(TaskStoreContractTest, AWakeSignalJoinsTheStoredSnapshotOnce) {
  ASSERT_TRUE(
      blocking().CreateTask(Task("t", v1::TASK_STATUS_AWAITING), {}).ok());
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_AWAITING);
  progress.snapshot.set_state("RECORDED");
  ASSERT_TRUE(blocking().RecordProgress("t", progress).ok());

  v1::PendingSignal signal;
  signal.mutable_signal()->set_name("go");
  signal.set_sequence(1);
  ASSERT_TRUE(blocking()
                  .RecordWakeSignal("t", "r1",
                                    {v1::WakeTaskResponse::CONSUMED, 1}, signal)
                  .ok());
  v1::TaskSnapshot stored = store().GetTask("t")->snapshot;
  EXPECT_EQ(stored.state(), "RECORDED");  // the recorded state, not a newer
  ASSERT_EQ(stored.mailbox_size(), 1);
  EXPECT_EQ(stored.mailbox(0).signal().name(), "go");
  EXPECT_EQ(stored.signal_sequence(), 1u);
  EXPECT_TRUE(blocking().FindWake("t", "r1")->has_value());

  // A snapshot that already reflects the signal (a later poll took it) is
  // left as it is.
  progress.snapshot.set_state("TOOK_IT");
  progress.snapshot.set_signal_sequence(1);
  ASSERT_TRUE(blocking().RecordProgress("t", progress).ok());
  ASSERT_TRUE(blocking()
                  .RecordWakeSignal("t", "",
                                    {v1::WakeTaskResponse::CONSUMED, 1}, signal)
                  .ok());
  stored = store().GetTask("t")->snapshot;
  EXPECT_EQ(stored.state(), "TOOK_IT");
  EXPECT_EQ(stored.mailbox_size(), 0);
  EXPECT_EQ(blocking()
                .RecordWakeSignal("nobody", "",
                                  {v1::WakeTaskResponse::BUFFERED, 1}, signal)
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_P(TaskStoreContractTest, ConcurrentCreatesOfOneIdCreateItOnce) {
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      TaskRecord record = Task("same", v1::TASK_STATUS_READY);
      record.request_fingerprint = "f";
      auto result = blocking().CreateTask(record, {Output("x")});
      ASSERT_TRUE(result.ok()) << result.status();
      if (result->created) created.fetch_add(1);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(store().ReadEvents("same", 0, 10)->events.size(), 1u);
}

std::vector<StoreKind> Kinds() {
  std::vector<StoreKind> kinds = {{"Memory", false}, {"Sqlite", true}};
  if (!PostgresTestDatabase::ServerUrl().empty()) {
    kinds.push_back({"Postgres", true, true});
  }
  return kinds;
}

INSTANTIATE_TEST_SUITE_P(Stores, TaskStoreContractTest,
                         ::testing::ValuesIn(Kinds()),
                         [](const ::testing::TestParamInfo<StoreKind>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace corosched::server
