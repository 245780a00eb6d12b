#pragma once

// The durable store's writes, as functions of the writer connection. Each
// runs on the group-commit writer thread inside the batch's transaction
// (under its own savepoint, see group_commit.h), with the same meaning and
// the same errors as the TaskStore method it serves (task_store.h).
//
// A write that refuses (NOT_FOUND, ALREADY_EXISTS) decides so before it
// changes anything, so nothing of it reaches the disk.

#include <cstdint>
#include <vector>

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

// Takes `record` by value: the result hands it back, moved.
absl::StatusOr<CreateTaskResult> WriteNewTask(
    SqliteConnection& connection, TaskRecord record,
    std::vector<v1::TaskEvent> first_events);

absl::StatusOr<uint64_t> WriteProgress(SqliteConnection& connection,
                                       absl::string_view id,
                                       TaskProgress progress);

absl::Status WriteWake(SqliteConnection& connection, absl::string_view id,
                       absl::string_view request_id, const WakeRecord& wake,
                       const v1::TaskSnapshot& snapshot);
// WriteWake with the stored snapshot plus `signal` (TaskStore::
// RecordWakeSignal).
absl::Status WriteWakeSignal(SqliteConnection& connection, absl::string_view id,
                             absl::string_view request_id,
                             const WakeRecord& wake,
                             const v1::PendingSignal& signal);

// Deletes up to `max_tasks` tasks that finished before `cutoff` (oldest
// finish first), with their labels, events and wakes (ON DELETE CASCADE).
// Returns how many tasks it deleted. Unfinished tasks are never touched.
absl::StatusOr<int> DeleteFinishedBefore(SqliteConnection& connection,
                                         absl::Time cutoff, int max_tasks);

}  // namespace corosched::server
