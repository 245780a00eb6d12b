#include "server/store/memory_store.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/testing/blocking_store.h"
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

TEST(MemoryStoreTest, RegistersDefinitionsOnceAndRefusesChangedContents) {
  MemoryStore store;
  auto first =
      BlockingStore(store).PutDefinition(Definition("hello", "1"), kT0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  auto again = BlockingStore(store).PutDefinition(Definition("hello", "1"),
                                                  kT0 + absl::Hours(1));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->record.registered_at, kT0);
  auto changed =
      BlockingStore(store).PutDefinition(Definition("hello", "1", "bye"), kT0);
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(changed.status().message(), HasSubstr("new version"));
}

TEST(MemoryStoreTest, GetsLatestVersionWhenVersionIsEmpty) {
  MemoryStore store;
  ASSERT_TRUE(
      BlockingStore(store).PutDefinition(Definition("hello", "2"), kT0).ok());
  ASSERT_TRUE(
      BlockingStore(store).PutDefinition(Definition("hello", "1"), kT0).ok());
  auto latest = store.GetDefinition("hello", "");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->definition.version(), "1");  // registered last
  EXPECT_EQ(store.GetDefinition("hello", "3").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store.GetDefinition("nope", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(MemoryStoreTest, ListsDefinitionsNewestFirstInPages) {
  MemoryStore store;
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(BlockingStore(store)
                    .PutDefinition(Definition("a", absl::StrCat(i)), kT0)
                    .ok());
    ASSERT_TRUE(BlockingStore(store)
                    .PutDefinition(Definition("b", absl::StrCat(i)), kT0)
                    .ok());
  }
  DefinitionQuery query{.name = "a", .page_size = 2};
  std::vector<std::string> versions;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store.ListDefinitions(query);
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

TEST(MemoryStoreTest, CreateIsIdempotentForTheSameFingerprint) {
  MemoryStore store;
  TaskRecord record = Task("t1", v1::TASK_STATUS_READY);
  record.request_fingerprint = "request-a";
  auto created = BlockingStore(store).CreateTask(record, {Output("x")});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->record.last_event_sequence, 1u);

  auto repeated = BlockingStore(store).CreateTask(record, {Output("y")});
  ASSERT_TRUE(repeated.ok());
  EXPECT_FALSE(repeated->created);
  EXPECT_EQ(repeated->record.last_event_sequence, 1u);  // nothing written

  record.request_fingerprint = "request-b";
  EXPECT_EQ(BlockingStore(store).CreateTask(record, {}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MemoryStoreTest, DaemonChosenIdsAreNeverReused) {
  MemoryStore store;
  TaskRecord record = Task("t1", v1::TASK_STATUS_READY);  // no fingerprint
  ASSERT_TRUE(BlockingStore(store).CreateTask(record, {}).ok());
  EXPECT_EQ(BlockingStore(store).CreateTask(record, {}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MemoryStoreTest, UnknownTaskIsNotFoundEverywhere) {
  MemoryStore store;
  EXPECT_EQ(store.GetTask("x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.ReadEvents("x", 0, 10).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(BlockingStore(store).RecordProgress("x", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(BlockingStore(store).FindWake("x", "r").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(BlockingStore(store).RecordWakeSignal("x", "r", {}, {}).code(),
            absl::StatusCode::kNotFound);
}

TEST(MemoryStoreTest, NumbersEventsAndReadsThemAfterASequence) {
  MemoryStore store;
  ASSERT_TRUE(BlockingStore(store)
                  .CreateTask(Task("t", v1::TASK_STATUS_READY), {Output("a")})
                  .ok());
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_COMPLETED);
  progress.events = {Output("b"), Finished(v1::TASK_STATUS_COMPLETED)};
  progress.finished_at = kT0;
  auto last = BlockingStore(store).RecordProgress("t", std::move(progress));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 3u);

  auto batch = store.ReadEvents("t", 1, 10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->events.size(), 2u);
  EXPECT_EQ(batch->events[0].sequence(), 2u);
  EXPECT_EQ(batch->events[0].output().text(), "b");
  EXPECT_TRUE(batch->events[1].has_finished());
  EXPECT_TRUE(batch->task_ended);
  EXPECT_EQ(batch->last_sequence, 3u);

  auto limited = store.ReadEvents("t", 0, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->events.size(), 1u);
  EXPECT_EQ(limited->events[0].sequence(), 1u);
  auto past_end = store.ReadEvents("t", 9, 10);
  ASSERT_TRUE(past_end.ok());
  EXPECT_THAT(past_end->events, IsEmpty());

  auto record = store.GetTask("t");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->finished_at, kT0);
  EXPECT_EQ(record->snapshot.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(record->last_event_sequence, 3u);
}

// The log is kept as wire bytes with each sequence number put in front:
// numbers past 127 take two varint bytes, past 16383 three.
TEST(MemoryStoreTest, ReadsALongEventLogBackInPagesExactly) {
  MemoryStore store({.max_events_per_task = 20000});  // keeps all 17000
  ASSERT_TRUE(BlockingStore(store)
                  .CreateTask(Task("t", v1::TASK_STATUS_READY), {})
                  .ok());
  constexpr int kEvents = 17000;
  for (int written = 0; written < kEvents;) {
    TaskProgress progress;
    progress.snapshot.set_status(v1::TASK_STATUS_READY);
    for (int i = 0; i < 100 && written < kEvents; ++i, ++written) {
      v1::TaskEvent event = Output(absl::StrCat("line ", written + 1));
      event.mutable_time()->set_seconds(written + 1);
      // A caller's sequence number is replaced by the store's.
      event.set_sequence(999999);
      progress.events.push_back(std::move(event));
    }
    ASSERT_TRUE(
        BlockingStore(store).RecordProgress("t", std::move(progress)).ok());
  }
  uint64_t after = 0;
  while (after < kEvents) {
    auto batch = store.ReadEvents("t", after, 333);
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_FALSE(batch->events.empty());
    EXPECT_EQ(batch->last_sequence, static_cast<uint64_t>(kEvents));
    EXPECT_FALSE(batch->task_ended);
    for (const v1::TaskEvent& event : batch->events) {
      ++after;
      ASSERT_EQ(event.sequence(), after);
      ASSERT_EQ(event.output().text(), absl::StrCat("line ", after));
      ASSERT_EQ(event.time().seconds(), static_cast<int64_t>(after));
    }
  }
  EXPECT_EQ(after, static_cast<uint64_t>(kEvents));
  EXPECT_EQ(store.GetTask("t")->last_event_sequence,
            static_cast<uint64_t>(kEvents));
}

TEST(MemoryStoreTest, ListsTasksNewestFirstWithFiltersAndPages) {
  MemoryStore store;
  for (int i = 0; i < 7; ++i) {
    TaskRecord record =
        Task(absl::StrCat("t", i),
             i % 2 == 0 ? v1::TASK_STATUS_AWAITING : v1::TASK_STATUS_READY,
             i < 5 ? "hello" : "other", {{"team", i % 3 == 0 ? "x" : "y"}});
    ASSERT_TRUE(BlockingStore(store).CreateTask(record, {}).ok());
  }
  TaskQuery all{.page_size = 100};
  EXPECT_THAT(Ids(*store.ListTasks(all)),
              ElementsAre("t6", "t5", "t4", "t3", "t2", "t1", "t0"));

  TaskQuery awaiting{.status = v1::TASK_STATUS_AWAITING, .page_size = 100};
  EXPECT_THAT(Ids(*store.ListTasks(awaiting)),
              ElementsAre("t6", "t4", "t2", "t0"));
  TaskQuery hello_x{
      .definition_name = "hello", .labels = {{"team", "x"}}, .page_size = 100};
  EXPECT_THAT(Ids(*store.ListTasks(hello_x)), ElementsAre("t3", "t0"));

  TaskQuery paged{.page_size = 3};
  std::vector<std::string> ids;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store.ListTasks(paged);
    ASSERT_TRUE(page.ok());
    EXPECT_LE(page->tasks.size(), 3u);
    for (const std::string& id : Ids(*page)) ids.push_back(id);
    if (page->next_page_token.empty()) break;
    paged.page_token = page->next_page_token;
  }
  EXPECT_THAT(ids, ElementsAre("t6", "t5", "t4", "t3", "t2", "t1", "t0"));
}

TEST(MemoryStoreTest, RefusesPageTokensItDidNotIssue) {
  MemoryStore store;
  TaskQuery query{.page_size = 10, .page_token = "garbage"};
  auto page = store.ListTasks(query);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(page.status().message(), HasSubstr("page_token"));
}

TEST(MemoryStoreTest, CountsTasksByStatusAcrossChanges) {
  MemoryStore store;
  ASSERT_TRUE(BlockingStore(store)
                  .CreateTask(Task("a", v1::TASK_STATUS_READY), {})
                  .ok());
  ASSERT_TRUE(BlockingStore(store)
                  .CreateTask(Task("b", v1::TASK_STATUS_READY), {})
                  .ok());
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_AWAITING);
  ASSERT_TRUE(BlockingStore(store).RecordProgress("a", progress).ok());
  auto counts = store.CountTasksByStatus();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[v1::TASK_STATUS_READY], 1u);
  EXPECT_EQ((*counts)[v1::TASK_STATUS_AWAITING], 1u);
}

TEST(MemoryStoreTest, RemembersTheFirstAnswerToAWakeRequestId) {
  MemoryStore store;
  ASSERT_TRUE(BlockingStore(store)
                  .CreateTask(Task("t", v1::TASK_STATUS_AWAITING), {})
                  .ok());
  auto none = BlockingStore(store).FindWake("t", "r1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  v1::PendingSignal signal;
  signal.set_sequence(1);
  ASSERT_TRUE(BlockingStore(store)
                  .RecordWakeSignal("t", "r1",
                                    {v1::WakeTaskResponse::BUFFERED, 1}, signal)
                  .ok());
  auto found = BlockingStore(store).FindWake("t", "r1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->disposition, v1::WakeTaskResponse::BUFFERED);
  EXPECT_EQ((*found)->sequence, 1u);
  EXPECT_EQ(store.GetTask("t")->snapshot.mailbox_size(), 1);
}

TEST(MemoryStoreTest, ForgetsTheOldestFinishedTasksPastRetention) {
  MemoryStore store({.retain_finished = 2});
  for (int i = 0; i < 4; ++i) {
    std::string id = absl::StrCat("t", i);
    ASSERT_TRUE(BlockingStore(store)
                    .CreateTask(Task(id, v1::TASK_STATUS_READY), {})
                    .ok());
    TaskProgress done;
    done.snapshot.set_status(v1::TASK_STATUS_COMPLETED);
    done.events = {Finished(v1::TASK_STATUS_COMPLETED)};
    done.finished_at = kT0;
    ASSERT_TRUE(BlockingStore(store).RecordProgress(id, done).ok());
  }
  ASSERT_TRUE(BlockingStore(store)
                  .CreateTask(Task("live", v1::TASK_STATUS_READY), {})
                  .ok());
  EXPECT_EQ(store.GetTask("t0").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.GetTask("t1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store.GetTask("t3").ok());
  EXPECT_THAT(Ids(*store.ListTasks({.page_size = 10})),
              ElementsAre("live", "t3", "t2"));
  EXPECT_EQ((*store.CountTasksByStatus())[v1::TASK_STATUS_COMPLETED], 2u);
}

TEST(MemoryStoreTest, ConcurrentCreatesOfOneIdCreateItOnce) {
  MemoryStore store;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      TaskRecord record = Task("same", v1::TASK_STATUS_READY);
      record.request_fingerprint = "f";
      auto result = BlockingStore(store).CreateTask(record, {Output("x")});
      ASSERT_TRUE(result.ok());
      if (result->created) created.fetch_add(1);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(store.ReadEvents("same", 0, 10)->events.size(), 1u);
}

// Writers on every shard at once, with listings and counts running beside
// them: retention, counts and the newest-first order stay exact.
TEST(MemoryStoreTest, ConcurrentWritersKeepRetentionCountsAndOrderExact) {
  constexpr int kThreads = 4;
  constexpr int kTasksEach = 500;
  constexpr size_t kRetained = 100;
  MemoryStore store({.retain_finished = kRetained});
  std::atomic<bool> writing{true};
  std::thread reader([&] {
    while (writing.load()) {
      absl::StatusOr<TaskPage> page = store.ListTasks({.page_size = 1000});
      ASSERT_TRUE(page.ok()) << page.status();
      for (size_t i = 1; i < page->tasks.size(); ++i) {
        ASSERT_NE(page->tasks[i - 1].id, page->tasks[i].id);
      }
      ASSERT_TRUE(store.CountTasksByStatus().ok());
    }
  });
  std::vector<std::thread> writers;
  writers.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&store, t] {
      for (int i = 0; i < kTasksEach; ++i) {
        const std::string id = absl::StrCat("w", t, "-", i);
        ASSERT_TRUE(BlockingStore(store)
                        .CreateTask(Task(id, v1::TASK_STATUS_READY), {})
                        .ok());
        TaskProgress done;
        done.snapshot.set_status(v1::TASK_STATUS_COMPLETED);
        done.events = {Output("o"), Finished(v1::TASK_STATUS_COMPLETED)};
        done.finished_at = kT0;
        ASSERT_TRUE(
            BlockingStore(store).RecordProgress(id, std::move(done)).ok());
      }
      // One task of each writer stays unfinished.
      ASSERT_TRUE(
          BlockingStore(store)
              .CreateTask(
                  Task(absl::StrCat("live", t), v1::TASK_STATUS_AWAITING), {})
              .ok());
    });
  }
  for (std::thread& writer : writers) writer.join();
  writing.store(false);
  reader.join();

  auto counts = *store.CountTasksByStatus();
  EXPECT_EQ(counts[v1::TASK_STATUS_COMPLETED], kRetained);
  EXPECT_EQ(counts[v1::TASK_STATUS_AWAITING], static_cast<uint64_t>(kThreads));
  EXPECT_EQ(counts.count(v1::TASK_STATUS_READY), 0u);
  // Pages of 7 walk every stored task once, newest first.
  std::vector<std::string> listed;
  std::string token;
  do {
    absl::StatusOr<TaskPage> page =
        store.ListTasks({.page_size = 7, .page_token = token});
    ASSERT_TRUE(page.ok()) << page.status();
    for (const TaskRecord& record : page->tasks) listed.push_back(record.id);
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(listed.size(), kRetained + kThreads);
  int found = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kTasksEach; ++i) {
      found += store.GetTask(absl::StrCat("w", t, "-", i)).ok() ? 1 : 0;
    }
  }
  EXPECT_EQ(found, static_cast<int>(kRetained));
  // Each writer's retained tasks are listed newest first.
  for (int t = 0; t < kThreads; ++t) {
    int previous = kTasksEach;
    for (const std::string& id : listed) {
      const std::string prefix = absl::StrCat("w", t, "-");
      if (id.rfind(prefix, 0) != 0) continue;
      const int i = std::stoi(id.substr(prefix.size()));
      EXPECT_LT(i, previous) << id;
      previous = i;
    }
  }
}

}  // namespace
}  // namespace corosched::server
