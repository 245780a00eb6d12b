#pragma once

// The durable store's writes, as functions of the writer connection. Each
// runs on the group-commit writer thread inside the batch's transaction
// (under its own savepoint, see group_commit.h), with the same meaning and
// the same errors as the TaskStore method it serves (task_store.h).
//
// A write that refuses (NOT_FOUND, ALREADY_EXISTS) decides so before it
// changes anything, so nothing of it reaches the disk.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/store/sqlite_connection.h"
#include "server/store/task_store.h"

namespace corosched::server {

absl::StatusOr<PutDefinitionResult> WriteDefinition(
    SqliteConnection& connection, const v1::TaskDefinition& definition,
    absl::Time now);

// The task_definitions ids of definitions the writer stored or found, by
// the shared message a TaskRecord points at (SharedDefinition), so the
// tasks of one compiled definition skip serialising it and looking it up.
// An id is added only once the write that found it succeeded: a write
// undone by its savepoint leaves nothing behind, and a failed commit stops
// the writer for good. Holds each message, so its address is never reused
// for another definition while cached. Writer thread only.
class DefinitionIdCache {
 public:
  std::optional<int64_t> Find(const SharedDefinition& definition) const;
  void Add(const SharedDefinition& definition, int64_t id);

 private:
  static constexpr size_t kMaxEntries = 4096;  // then it starts over
  absl::flat_hash_map<
      const v1::TaskDefinition*,
      std::pair<std::shared_ptr<const v1::TaskDefinition>, int64_t>>
      ids_;
};

// How the tasks by status (the task_counts table) changed in the batch's
// writes so far. The writes that add, update or delete task rows record the
// change here, as their last step (a write that fails records nothing);
// Flush, run once per batch just before COMMIT, adds it to task_counts:
// a statement per status that changed, not two per task as a trigger
// would. Writer thread only.
class StatusCountChanges {
 public:
  void Add(v1::TaskStatus status, int64_t delta);
  void Move(v1::TaskStatus from, v1::TaskStatus to);
  void Add(const StatusCountChanges& other);
  // Adds the changes to task_counts and forgets them.
  absl::Status Flush(SqliteConnection& connection);

 private:
  static constexpr int kStatuses = 8;  // TaskStatus values 0..7
  std::array<int64_t, kStatuses> deltas_{};
};

// What the writes keep between them, on the writer thread.
struct WriterState {
  DefinitionIdCache definition_ids;
  StatusCountChanges status_counts;
  // SqliteStoreOptions::max_events_per_task.
  uint64_t max_events_per_task = 10000;
};

// Takes `record` by value: the result hands it back, moved.
absl::StatusOr<CreateTaskResult> WriteNewTask(
    SqliteConnection& connection, TaskRecord record,
    std::vector<v1::TaskEvent> first_events, WriterState& state);

// WriteNewTask for a task that ran before its create was written, with the
// progress it recorded meanwhile (joined to it, progress_joiner.h): the row
// and events as of that progress, in one write. The result describes the
// task as submitted (its own snapshot, no finish, `first_events` only), as
// WriteNewTask's would; `progress_last` gets the answer for the progress: the
// task's last event sequence, or why the create was refused.
// REQUIRES: record.request_fingerprint is empty (a daemon-chosen id), so a
// taken id is refused (ALREADY_EXISTS), never answered as an existing task.
absl::StatusOr<CreateTaskResult> WriteNewTaskWithProgress(
    SqliteConnection& connection, TaskRecord record,
    std::vector<v1::TaskEvent> first_events, TaskProgress progress,
    WriterState& state, absl::StatusOr<uint64_t>& progress_last);

absl::StatusOr<uint64_t> WriteProgress(SqliteConnection& connection,
                                       absl::string_view id,
                                       TaskProgress progress,
                                       WriterState& state);

// The task's stored snapshot plus `signal`, and `wake` as the answer to
// `request_id` (TaskStore::RecordWakeSignalAsync).
absl::Status WriteWakeSignal(SqliteConnection& connection, absl::string_view id,
                             absl::string_view request_id,
                             const WakeRecord& wake,
                             const v1::PendingSignal& signal,
                             WriterState& state);

// Deletes up to `max_tasks` tasks that finished before `cutoff` (oldest
// finish first), with their labels, events and wakes (ON DELETE CASCADE).
// Returns how many tasks it deleted. Unfinished tasks are never touched.
absl::StatusOr<int> DeleteFinishedBefore(SqliteConnection& connection,
                                         absl::Time cutoff, int max_tasks,
                                         WriterState& state);

}  // namespace corosched::server
