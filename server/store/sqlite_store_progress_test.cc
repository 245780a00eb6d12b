// The SQLite store's progress writes: batched without an fsync of their
// own unless durable, applied in order with the task's other writes, and
// joined while queued (progress_joiner.h), to a progress write or to the
// task's create.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/sqlite_writer_test_fixture.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using test_records::Finish;
using test_records::kT0;
using test_records::Output;
using test_records::Task;
using ::testing::ElementsAre;

TEST_F(SqliteStoreWriterTest, ProgressAloneCommitsWithoutFsync) {
  observer_.HoldFirstCommit();
  Open();
  store_->CreateTaskAsync(Task("t", v1::TASK_STATUS_READY), {}, nullptr);
  observer_.WaitUntilHeld();
  absl::Notification recorded;
  for (int i = 0; i < 3; ++i) {
    TaskProgress progress;
    progress.snapshot.set_status(v1::TASK_STATUS_READY);
    progress.events = {Output(absl::StrCat(i))};
    SqliteStore::Done<uint64_t> done;
    if (i == 2) {
      done = [&](const absl::StatusOr<uint64_t>& last) {
        EXPECT_EQ(last.value_or(0), 3u);
        recorded.Notify();
      };
    }
    store_->RecordProgressAsync("t", std::move(progress), std::move(done));
  }
  observer_.Release();
  recorded.WaitForNotification();
  EXPECT_THAT(observer_.synced(), ElementsAre(true, false));
  EXPECT_EQ(store_->ReadEvents("t", 0, 10)->events.size(), 3u);
}

// A cancel's end is answered to a client: it is synced like a submit, and
// does not join unsynced progress queued before it.
TEST_F(SqliteStoreWriterTest, DurableProgressIsSyncedAndJoinsNothingUnsynced) {
  observer_.HoldFirstCommit();
  Open();
  store_->CreateTaskAsync(Task("t", v1::TASK_STATUS_READY), {}, nullptr);
  observer_.WaitUntilHeld();
  absl::Notification recorded;
  for (int i = 0; i < 2; ++i) {
    TaskProgress progress;
    progress.snapshot.set_status(v1::TASK_STATUS_READY);
    progress.events = {Output(absl::StrCat(i))};
    progress.durable = i == 1;
    SqliteStore::Done<uint64_t> done;
    if (i == 1) {
      done = [&](const absl::StatusOr<uint64_t>& last) {
        EXPECT_EQ(last.value_or(0), 2u);
        recorded.Notify();
      };
    }
    store_->RecordProgressAsync("t", std::move(progress), std::move(done));
  }
  observer_.Release();
  recorded.WaitForNotification();
  // The create's commit, then both progress writes in one synced commit.
  EXPECT_THAT(observer_.synced(), ElementsAre(true, true));
  EXPECT_THAT(observer_.batches(), ElementsAre(1, 2));
}

TEST_F(SqliteStoreWriterTest, QueuedProgressOfOneTaskBecomesOneWrite) {
  observer_.HoldFirstCommit();
  Open();
  store_->CreateTaskAsync(Task("t", v1::TASK_STATUS_READY), {}, nullptr);
  observer_.WaitUntilHeld();  // the writer is busy: what comes now queues
  absl::BlockingCounter answered(3);
  for (int i = 0; i < 3; ++i) {
    TaskProgress progress;
    progress.snapshot.set_status(v1::TASK_STATUS_READY);
    progress.snapshot.set_state(absl::StrCat("S", i));
    progress.events = {Output(absl::StrCat(i))};
    store_->RecordProgressAsync(
        "t", std::move(progress), [&](const absl::StatusOr<uint64_t>& last) {
          EXPECT_EQ(last.value_or(0), 3u);  // every part: the joint write
          answered.DecrementCount();
        });
  }
  observer_.Release();
  answered.Wait();
  EXPECT_THAT(observer_.batches(), ElementsAre(1, 1));  // create, progress
  EXPECT_EQ(store_->GetTask("t")->snapshot.state(), "S2");
  absl::StatusOr<EventBatch> batch = store_->ReadEvents("t", 0, 10);
  ASSERT_TRUE(batch.ok()) << batch.status();
  std::vector<std::string> texts;
  for (const v1::TaskEvent& event : batch->events) {
    texts.push_back(event.output().text());
  }
  EXPECT_THAT(texts, ElementsAre("0", "1", "2"));
}

// A task may run before its create is stored (TaskRunner, daemon-chosen
// ids): its progress joins the queued create, one write for both, while
// the create's answer still shows the task as submitted.
TEST_F(SqliteStoreWriterTest, ProgressJoinsItsTasksQueuedCreate) {
  observer_.HoldFirstCommit();
  Open();
  store_->CreateTaskAsync(Task("blocker", v1::TASK_STATUS_READY), {}, nullptr);
  observer_.WaitUntilHeld();  // the writer is busy: what comes now queues
  absl::StatusOr<CreateTaskResult> created = absl::UnknownError("unanswered");
  absl::BlockingCounter answered(3);
  store_->CreateTaskAsync(Task("t", v1::TASK_STATUS_READY), {Output("o")},
                          [&](absl::StatusOr<CreateTaskResult> result) {
                            created = std::move(result);
                            answered.DecrementCount();
                          });
  TaskProgress poll;
  poll.snapshot.set_status(v1::TASK_STATUS_READY);
  poll.snapshot.set_state("B");
  poll.events = {Output("a")};
  std::vector<uint64_t> lasts;
  absl::Mutex lasts_mu;
  auto record_last = [&](const absl::StatusOr<uint64_t>& last) {
    EXPECT_TRUE(last.ok()) << last.status();
    absl::MutexLock lock(&lasts_mu);
    lasts.push_back(last.value_or(0));
    answered.DecrementCount();
  };
  store_->RecordProgressAsync("t", std::move(poll), record_last);
  store_->RecordProgressAsync("t", Finish(v1::TASK_STATUS_COMPLETED, kT0),
                              record_last);
  observer_.Release();
  answered.Wait();

  EXPECT_THAT(observer_.batches(), ElementsAre(1, 1));  // blocker; t, joined
  EXPECT_THAT(lasts, ElementsAre(3u, 3u));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->record.snapshot.status(), v1::TASK_STATUS_READY);
  EXPECT_EQ(created->record.snapshot.state(), "A");
  EXPECT_FALSE(created->record.finished_at.has_value());
  EXPECT_EQ(created->record.last_event_sequence, 1u);

  absl::StatusOr<TaskRecord> stored = store_->GetTask("t");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->snapshot.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(stored->finished_at, kT0);
  EXPECT_EQ(stored->last_event_sequence, 3u);
  absl::StatusOr<EventBatch> events = store_->ReadEvents("t", 0, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->events.size(), 3u);
  EXPECT_EQ(events->events[0].output().text(), "o");
  EXPECT_EQ(events->events[1].output().text(), "a");
  EXPECT_TRUE(events->events[2].has_finished());
  EXPECT_TRUE(events->task_ended);
  auto counts = store_->CountTasksByStatus();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[v1::TASK_STATUS_COMPLETED], 1u);
  EXPECT_EQ((*counts)[v1::TASK_STATUS_READY], 1u);  // the blocker
}

// Progress that joined a create the store refuses is refused with it, and
// never touches the task that holds the id. (A caller that gives no
// fingerprint promises a unique id; this breaks the promise on purpose.)
TEST_F(SqliteStoreWriterTest, ProgressJoinedToARefusedCreateIsRefusedToo) {
  observer_.HoldFirstCommit();
  Open();
  store_->CreateTaskAsync(Task("x", v1::TASK_STATUS_AWAITING),
                          {Output("first")}, nullptr);
  observer_.WaitUntilHeld();
  TaskRecord second = Task("x", v1::TASK_STATUS_READY);
  absl::StatusOr<CreateTaskResult> created = absl::UnknownError("unanswered");
  absl::StatusOr<uint64_t> joined = absl::UnknownError("unanswered");
  absl::BlockingCounter answered(2);
  store_->CreateTaskAsync(second, {Output("second")},
                          [&](absl::StatusOr<CreateTaskResult> result) {
                            created = std::move(result);
                            answered.DecrementCount();
                          });
  store_->RecordProgressAsync("x", Finish(v1::TASK_STATUS_FAILED, kT0),
                              [&](absl::StatusOr<uint64_t> last) {
                                joined = std::move(last);
                                answered.DecrementCount();
                              });
  observer_.Release();
  answered.Wait();

  EXPECT_EQ(created.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(joined.status().code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<TaskRecord> stored = store_->GetTask("x");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->snapshot.status(), v1::TASK_STATUS_AWAITING);
  EXPECT_FALSE(stored->finished_at.has_value());
  absl::StatusOr<EventBatch> events = store_->ReadEvents("x", 0, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->events.size(), 1u);
  EXPECT_EQ(events->events[0].output().text(), "first");
}

// Two creates of one client-chosen id race: the second, still queued when
// the winner's task records progress, is never joined by that progress,
// which is the winner's and is written to it.
TEST_F(SqliteStoreWriterTest, ProgressNeverJoinsACreateWithAFingerprint) {
  observer_.HoldFirstCommit();
  Open();
  TaskRecord winner = Task("x", v1::TASK_STATUS_READY);
  winner.request_fingerprint = "request";
  store_->CreateTaskAsync(winner, {Output("created")}, nullptr);
  observer_.WaitUntilHeld();
  absl::StatusOr<CreateTaskResult> repeat = absl::UnknownError("unanswered");
  absl::StatusOr<uint64_t> progressed = absl::UnknownError("unanswered");
  absl::BlockingCounter answered(2);
  store_->CreateTaskAsync(winner, {Output("created again")},
                          [&](absl::StatusOr<CreateTaskResult> result) {
                            repeat = std::move(result);
                            answered.DecrementCount();
                          });
  store_->RecordProgressAsync("x", Finish(v1::TASK_STATUS_COMPLETED, kT0),
                              [&](absl::StatusOr<uint64_t> last) {
                                progressed = std::move(last);
                                answered.DecrementCount();
                              });
  observer_.Release();
  answered.Wait();

  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_FALSE(repeat->created);  // the same request: the existing task
  ASSERT_TRUE(progressed.ok()) << progressed.status();
  EXPECT_EQ(*progressed, 2u);
  absl::StatusOr<TaskRecord> stored = store_->GetTask("x");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->snapshot.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(stored->finished_at, kT0);
}

TEST_F(SqliteStoreWriterTest, ProgressAfterAWakeNeverJoinsProgressBeforeIt) {
  observer_.HoldFirstCommit();
  Open();
  store_->CreateTaskAsync(Task("t", v1::TASK_STATUS_AWAITING), {}, nullptr);
  observer_.WaitUntilHeld();
  auto progress = [](const std::string& state) {
    TaskProgress p;
    p.snapshot.set_status(v1::TASK_STATUS_AWAITING);
    p.snapshot.set_state(state);
    return p;
  };
  store_->RecordProgressAsync("t", progress("before-wake"), nullptr);
  v1::PendingSignal signal;
  signal.set_sequence(1);
  store_->RecordWakeSignalAsync("t", "r", {v1::WakeTaskResponse::BUFFERED, 1},
                                signal, nullptr);
  absl::Notification recorded;
  TaskProgress took_it = progress("after-wake");  // the poll took the signal
  took_it.snapshot.set_signal_sequence(1);
  store_->RecordProgressAsync(
      "t", std::move(took_it),
      [&](const absl::StatusOr<uint64_t>&) { recorded.Notify(); });
  observer_.Release();
  recorded.WaitForNotification();
  // Joined to the first progress write, "after-wake" would have been
  // written before the wake: two writes in the batch, not three.
  EXPECT_THAT(observer_.batches(), ElementsAre(1, 3));
  const v1::TaskSnapshot stored = store_->GetTask("t")->snapshot;
  EXPECT_EQ(stored.state(), "after-wake");
  EXPECT_EQ(stored.mailbox_size(), 0);  // taken, as the last poll recorded
}

// The progress queued first is applied first: the wake's signal lands in
// its snapshot, and is not overwritten by it.
TEST_F(SqliteStoreWriterTest, ProgressNeverOverwritesALaterWake) {
  Open();
  ASSERT_TRUE(
      blocking().CreateTask(Task("t", v1::TASK_STATUS_AWAITING), {}).ok());
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_AWAITING);
  progress.snapshot.set_state("before-wake");
  store_->RecordProgressAsync("t", std::move(progress), nullptr);
  v1::PendingSignal signal;
  signal.set_sequence(1);
  ASSERT_TRUE(blocking()
                  .RecordWakeSignal("t", "r",
                                    {v1::WakeTaskResponse::BUFFERED, 1}, signal)
                  .ok());
  const v1::TaskSnapshot stored = store_->GetTask("t")->snapshot;
  EXPECT_EQ(stored.state(), "before-wake");
  ASSERT_EQ(stored.mailbox_size(), 1);
  EXPECT_EQ(stored.mailbox(0).sequence(), 1u);
}

}  // namespace
}  // namespace corosched::server
