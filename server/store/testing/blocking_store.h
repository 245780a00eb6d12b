#pragma once

// For tests: a store's ...Async calls as blocking ones. Each issues the
// call and waits for its `done`, so a test reads as a sequence of stored
// writes and their reads:
//
//   ASSERT_TRUE(BlockingStore(*store).CreateTask(record, {first}).ok());
//   EXPECT_EQ(store->GetTask(record.id)->snapshot.state(), "A");
//
// The daemon has no such calls: it never waits for the store on a request's
// path (docs/durability.md). Nor may a test wait where a store runs its
// callbacks: built on a SqliteStore, a call made on its writer thread (from
// a write's `done`) is refused with FAILED_PRECONDITION instead of waiting
// for itself.
//
// Thread-safety: as the store's; a BlockingStore is a view of it, cheap to
// make for each call.

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/store/sqlite_store.h"
#include "server/store/task_store.h"

namespace corosched::server {

class BlockingStore {
 public:
  explicit BlockingStore(TaskStore& store) : store_(store) {}
  explicit BlockingStore(SqliteStore& store) : store_(store), sqlite_(&store) {}

  absl::StatusOr<PutDefinitionResult> PutDefinition(
      const v1::TaskDefinition& definition, absl::Time now);
  // For a new task the answer holds the whole record (the store's own
  // answer may hold only the id and last_event_sequence).
  absl::StatusOr<CreateTaskResult> CreateTask(
      const TaskRecord& record, std::vector<v1::TaskEvent> first_events);
  // Durable: waits for the fsync, as a cancel's end does.
  absl::StatusOr<uint64_t> RecordProgress(absl::string_view id,
                                          TaskProgress progress);
  absl::Status RecordWakeSignal(absl::string_view id,
                                absl::string_view request_id,
                                const WakeRecord& wake,
                                const v1::PendingSignal& signal);
  absl::StatusOr<std::optional<WakeRecord>> FindWake(
      absl::string_view id, absl::string_view request_id);
  // REQUIRES: built on a SqliteStore.
  absl::StatusOr<int> PurgeFinishedBefore(absl::Time cutoff, int max_rows);

 private:
  // Calls `start` with a `done` and waits for it.
  template <typename T>
  absl::StatusOr<T> Wait(absl::FunctionRef<void(TaskStore::Done<T>)> start);

  TaskStore& store_;
  SqliteStore* const sqlite_ = nullptr;
};

}  // namespace corosched::server
