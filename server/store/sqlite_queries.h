#pragma once

// The durable store's reads, as functions of a connection: SqliteStore runs
// them on a reader connection inside a read transaction (one consistent
// snapshot per call), and the writes run some of them on the writer
// connection inside the batch's transaction (seeing the batch's own writes).
//
// Errors follow task_store.h: NOT_FOUND for an unknown task or definition,
// INVALID_ARGUMENT for a foreign page token, and the connection's errors.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/sqlite_connection.h"
#include "server/store/sqlite_task_rows.h"
#include "server/store/task_store.h"

namespace corosched::server {

absl::Status TaskNotFoundError(absl::string_view id);

// The definition (name, version), or nullopt.
absl::StatusOr<std::optional<DefinitionRecord>> FindDefinition(
    SqliteConnection& connection, absl::string_view name,
    absl::string_view version);
// As TaskStore::GetDefinition.
absl::StatusOr<DefinitionRecord> QueryDefinition(SqliteConnection& connection,
                                                 absl::string_view name,
                                                 absl::string_view version);
absl::StatusOr<DefinitionPage> QueryDefinitions(SqliteConnection& connection,
                                                const DefinitionQuery& query);

// The task, or nullopt.
absl::StatusOr<std::optional<TaskRecord>> FindTask(SqliteConnection& connection,
                                                   absl::string_view id);
absl::StatusOr<TaskPage> QueryTasks(SqliteConnection& connection,
                                    const TaskQuery& query);
absl::StatusOr<EventBatch> QueryEvents(SqliteConnection& connection,
                                       absl::string_view id,
                                       uint64_t after_sequence, int max_events);
absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> QueryStatusCounts(
    SqliteConnection& connection);
// The same, of one namespace's tasks (namespace_keys.h), counted row by row.
absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> QueryStatusCountsIn(
    SqliteConnection& connection, absl::string_view namespace_name);
absl::StatusOr<std::optional<WakeRecord>> QueryWake(
    SqliteConnection& connection, absl::string_view id,
    absl::string_view request_id);

// A page of unfinished tasks (finished_at unset) with position greater than
// `after_position`, oldest first, at most `limit`; appended to `tasks` with
// their positions. Walks the partial index `tasks_unfinished`. Tasks of
// one definition share one parsed message, through `parsed`.
absl::Status QueryUnfinished(SqliteConnection& connection,
                             int64_t after_position, int limit,
                             std::vector<std::pair<int64_t, TaskRecord>>& tasks,
                             ParsedDefinitions& parsed);

}  // namespace corosched::server
