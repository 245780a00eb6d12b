#pragma once

// The PostgreSQL store's reads, as functions of a connection, and how a
// TaskRecord maps to a row of corosched_tasks (postgres_schema.cc) and
// back; shared by the writes, which must agree on every column.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/postgres_connection.h"
#include "server/store/task_store.h"

namespace corosched::server {

// NOT_FOUND, as every store words it.
absl::Status PgTaskNotFound(absl::string_view id);

// The select list of every task read, from `corosched_tasks t`; column 0 is
// the position, ReadPgTask reads columns 1 to 9.
inline constexpr absl::string_view kPgTaskColumns =
    "t.position, t.key, t.request_fingerprint, t.definition, "
    "t.inputs_and_labels, t.created_at_ns, t.start_at_ns, t.finished_at_ns, "
    "t.snapshot, t.last_event_sequence";

// Definitions parsed during one read of many tasks, by their bytes, so the
// tasks of one definition share one message (TaskService compiles each
// shared message once).
using PgParsedDefinitions = absl::flat_hash_map<std::string, SharedDefinition>;

// The record in `row` of a result selecting kPgTaskColumns. DATA_LOSS
// naming the task when a stored message does not parse.
absl::StatusOr<TaskRecord> ReadPgTask(const PgResult& result, int row,
                                      PgParsedDefinitions* parsed = nullptr);

// The task's inputs and labels as one v1.SubmitTaskRequest (fields 3 and 4).
std::string PgInputsAndLabels(const TaskRecord& record);
// `labels` as a JSON object, for the jsonb column and containment queries.
std::string PgLabelsJson(const std::map<std::string, std::string>& labels);

absl::StatusOr<DefinitionRecord> PgQueryDefinition(PgConnection& connection,
                                                   absl::string_view name,
                                                   absl::string_view version);
absl::StatusOr<DefinitionPage> PgQueryDefinitions(PgConnection& connection,
                                                  const DefinitionQuery& query);
absl::StatusOr<std::optional<TaskRecord>> PgFindTask(PgConnection& connection,
                                                     absl::string_view id);
absl::StatusOr<TaskPage> PgQueryTasks(PgConnection& connection,
                                      const TaskQuery& query);
absl::StatusOr<EventBatch> PgQueryEvents(PgConnection& connection,
                                         absl::string_view id,
                                         uint64_t after_sequence,
                                         int max_events);
// `namespace_name` empty: every task.
absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> PgQueryStatusCounts(
    PgConnection& connection, absl::string_view namespace_name);
absl::StatusOr<std::optional<WakeRecord>> PgQueryWake(
    PgConnection& connection, absl::string_view id,
    absl::string_view request_id);
// Up to `limit` unfinished tasks after `after_position`, oldest first, with
// their positions.
absl::Status PgQueryUnfinished(
    PgConnection& connection, int64_t after_position, int limit,
    std::vector<std::pair<int64_t, TaskRecord>>& tasks,
    PgParsedDefinitions& parsed);

}  // namespace corosched::server
