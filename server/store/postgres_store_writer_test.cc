// PostgresStore's writer: group commit with a savepoint per write, what it
// tells the commit observer, and the retention purge's chunked deletes. Each
// test has a database of its own on the server that
// tests/testing/with_test_postgres.sh starts.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/postgres_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/group_commit_test_observer.h"
#include "server/store/testing/postgres_test_database.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using test_observer::RecordingObserver;
using test_records::Finish;
using test_records::kT0;
using test_records::Output;
using test_records::Task;
using ::testing::ElementsAre;

// Collects the answers of writes issued without waiting, and waits for all.
class Answers {
 public:
  template <typename T>
  TaskStore::Done<T> Expect() {
    absl::MutexLock lock(&mu_);
    const size_t index = codes_.size();
    codes_.push_back(absl::StatusCode::kUnknown);
    ++pending_;
    return [this, index](absl::StatusOr<T> answer) {
      absl::MutexLock lock(&mu_);
      codes_[index] = answer.status().code();
      --pending_;
    };
  }
  std::vector<absl::StatusCode> Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* pending) { return *pending == 0; }, &pending_));
    return codes_;
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::StatusCode> codes_ ABSL_GUARDED_BY(mu_);
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
};

class PostgresStoreWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresTestDatabase::ServerUrl().empty()) {
      GTEST_SKIP() << "COROSCHED_TEST_POSTGRES_URL is not set; run under "
                      "tests/testing/with_test_postgres.sh";
    }
    ASSERT_TRUE(db_.error().ok()) << db_.error();
  }

  void Open(PostgresStoreOptions options) {
    options.url = db_.url();
    auto opened = PostgresStore::Open(std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    ASSERT_TRUE(store_->Join(absl::Minutes(10)).ok());
  }

  PostgresTestDatabase db_;
  std::unique_ptr<PostgresStore> store_;
};

TEST_F(PostgresStoreWriterTest, ARefusedWriteDoesNotSpoilItsBatch) {
  RecordingObserver observer;
  observer.HoldFirstCommit();
  // One writer, so that the writes queued behind the held commit are one
  // batch.
  Open({.writers = 1, .observer = &observer});
  Answers answers;
  store_->CreateTaskAsync(Task("a", v1::TASK_STATUS_READY), {},
                          answers.Expect<CreateTaskResult>());
  observer.WaitUntilHeld();  // what follows queues into one batch
  store_->CreateTaskAsync(Task("b", v1::TASK_STATUS_READY), {Output("b")},
                          answers.Expect<CreateTaskResult>());
  store_->RecordProgressAsync("unknown", {}, answers.Expect<uint64_t>());
  store_->CreateTaskAsync(Task("a", v1::TASK_STATUS_READY), {},
                          answers.Expect<CreateTaskResult>());
  store_->CreateTaskAsync(Task("c", v1::TASK_STATUS_READY), {},
                          answers.Expect<CreateTaskResult>());
  observer.Release();
  EXPECT_THAT(
      answers.Wait(),
      ElementsAre(absl::StatusCode::kOk, absl::StatusCode::kOk,
                  absl::StatusCode::kNotFound, absl::StatusCode::kAlreadyExists,
                  absl::StatusCode::kOk));
  EXPECT_THAT(observer.batches(), ElementsAre(1, 4));
  EXPECT_EQ(store_->ReadEvents("b", 0, 10)->events.size(), 1u);
  EXPECT_TRUE(store_->GetTask("c").ok());
}

TEST_F(PostgresStoreWriterTest, OnlyBatchesOfProgressCommitUnsynced) {
  RecordingObserver observer;
  Open({.writers = 1, .observer = &observer});
  BlockingStore blocking(*store_);
  ASSERT_TRUE(blocking.CreateTask(Task("t", v1::TASK_STATUS_READY), {}).ok());
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_READY);
  absl::Notification stored;
  store_->RecordProgressAsync("t", progress,
                              [&](const absl::StatusOr<uint64_t>& written) {
                                EXPECT_TRUE(written.ok()) << written.status();
                                stored.Notify();
                              });
  stored.WaitForNotification();
  ASSERT_TRUE(blocking.RecordProgress("t", progress).ok());  // durable
  EXPECT_THAT(observer.synced(), ElementsAre(true, false, true));
}

// With several writers, each task's writes still apply in the order they
// were issued: every task's answers count its events up one by one, and its
// log reads back in that order.
TEST_F(PostgresStoreWriterTest, SeveralWritersKeepEachTasksWritesInOrder) {
  Open({.writers = 3});
  constexpr int kTasks = 24;
  constexpr int kWrites = 15;
  BlockingStore blocking(*store_);
  for (int t = 0; t < kTasks; ++t) {
    ASSERT_TRUE(
        blocking
            .CreateTask(Task(absl::StrCat("t", t), v1::TASK_STATUS_READY), {})
            .ok());
  }
  absl::Mutex mu;
  std::vector<std::vector<uint64_t>> sequences(kTasks);
  Answers answers;
  for (int w = 0; w < kWrites; ++w) {
    for (int t = 0; t < kTasks; ++t) {
      TaskProgress progress;
      progress.snapshot.set_status(v1::TASK_STATUS_READY);
      progress.events.push_back(Output(absl::StrCat(w)));
      TaskStore::Done<uint64_t> counted = answers.Expect<uint64_t>();
      store_->RecordProgressAsync(
          absl::StrCat("t", t), std::move(progress),
          [&mu, &sequences, t, counted = std::move(counted)](
              absl::StatusOr<uint64_t> written) mutable {
            if (written.ok()) {
              absl::MutexLock lock(&mu);
              sequences[t].push_back(*written);
            }
            counted(std::move(written));
          });
    }
  }
  for (absl::StatusCode code : answers.Wait()) {
    ASSERT_EQ(code, absl::StatusCode::kOk);
  }
  for (int t = 0; t < kTasks; ++t) {
    // Joined writes answer with the same last sequence: non-decreasing.
    EXPECT_TRUE(std::is_sorted(sequences[t].begin(), sequences[t].end()))
        << "task t" << t;
    absl::StatusOr<EventBatch> events =
        store_->ReadEvents(absl::StrCat("t", t), 0, kWrites + 10);
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->events.size(), static_cast<size_t>(kWrites));
    for (int w = 0; w < kWrites; ++w) {
      EXPECT_EQ(events->events[w].output().text(), absl::StrCat(w))
          << "task t" << t;
    }
  }
}

TEST_F(PostgresStoreWriterTest, PurgesFinishedTasksInChunksWithTheirEvents) {
  Open({.purge_chunk_tasks = 2});
  BlockingStore blocking(*store_);
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("f", i);
    ASSERT_TRUE(
        blocking.CreateTask(Task(id, v1::TASK_STATUS_READY), {Output("x")})
            .ok());
    ASSERT_TRUE(
        blocking.RecordProgress(id, Finish(v1::TASK_STATUS_COMPLETED, kT0))
            .ok());
  }
  ASSERT_TRUE(
      blocking.CreateTask(Task("open", v1::TASK_STATUS_READY), {}).ok());
  ASSERT_TRUE(blocking
                  .RecordProgress("f4", Finish(v1::TASK_STATUS_COMPLETED,
                                               kT0 + absl::Hours(2)))
                  .ok());  // finished once already: its time stays kT0

  absl::Notification purged;
  absl::StatusOr<int> deleted = absl::UnknownError("unanswered");
  store_->PurgeFinishedBeforeAsync(kT0 + absl::Seconds(1), 4,
                                   [&](absl::StatusOr<int> answer) {
                                     deleted = std::move(answer);
                                     purged.Notify();
                                   });
  purged.WaitForNotification();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 4);  // at most max_rows, in chunks of 2
  absl::Notification rest;
  store_->PurgeFinishedBeforeAsync(kT0 + absl::Seconds(1), 100,
                                   [&](absl::StatusOr<int> answer) {
                                     deleted = std::move(answer);
                                     rest.Notify();
                                   });
  rest.WaitForNotification();
  EXPECT_EQ(deleted.value_or(-1), 1);
  EXPECT_TRUE(store_->GetTask("open").ok());
  EXPECT_EQ(store_->GetTask("f0").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(db_.QueryText("SELECT count(*) FROM corosched_task_events "
                          "WHERE task_key LIKE 'f%'")
                .value_or("?"),
            "0");
}

}  // namespace
}  // namespace corosched::server
