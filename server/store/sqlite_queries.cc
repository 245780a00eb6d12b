#include "server/store/sqlite_queries.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "server/store/namespace_keys.h"
#include "server/store/sqlite_task_rows.h"
#include "server/store/store_keys.h"

namespace corosched::server {
namespace {

// Where a newest-first listing starts: positions below this one.
absl::StatusOr<int64_t> ListBefore(const std::string& page_token) {
  if (page_token.empty()) return std::numeric_limits<int64_t>::max();
  absl::StatusOr<uint64_t> after = DecodePageToken(page_token);
  if (!after.ok()) return after.status();
  if (*after > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return DecodePageToken("").status();  // the same INVALID_ARGUMENT message
  }
  return static_cast<int64_t>(*after);
}

absl::StatusOr<DefinitionRecord> ReadDefinitionRow(const SqliteStatement& row,
                                                   int first_column) {
  DefinitionRecord record;
  if (!ParseStored(row.Blob(first_column), record.definition)) {
    return absl::DataLossError(
        "a stored definition cannot be parsed; the database is damaged");
  }
  record.registered_at = FromStoredTime(row.Int(first_column + 1));
  return record;
}

// The condition that keeps only the keys in `column` of namespace
// `namespace_name` (namespace_keys.h; empty: every namespace): `default`'s
// keys have no separator, another's are a key range bound to ?5 and ?6.
std::string NamespaceSql(absl::string_view namespace_name,
                         absl::string_view column) {
  if (namespace_name.empty()) return "";
  if (namespace_name == kDefaultNamespaceName) {
    return absl::StrCat(" AND instr(", column, ", '/') = 0");
  }
  return absl::StrCat(" AND ", column, " >= ?5 AND ", column, " < ?6");
}

// Binds NamespaceSql's range, if it has one.
void BindNamespace(SqliteStatement& statement,
                   absl::string_view namespace_name) {
  if (namespace_name.empty() || namespace_name == kDefaultNamespaceName) {
    return;
  }
  NamespaceKeyRange range = KeyRangeOf(namespace_name);
  statement.BindText(5, range.begin);
  statement.BindText(6, range.end);
}

// The tasks listing for `query`: only the filters it uses appear, so SQLite
// picks the index that fits (status or definition name, then position).
std::string TaskListSql(const TaskQuery& query) {
  std::string sql = absl::StrCat("SELECT ", kTaskColumns, " FROM ", kTaskTables,
                                 " WHERE t.position < ?1");
  if (query.status != v1::TASK_STATUS_UNSPECIFIED) {
    absl::StrAppend(&sql, " AND t.status = ?2");
  }
  if (!query.definition_name.empty()) {
    absl::StrAppend(&sql, " AND t.definition_name = ?3");
  }
  absl::StrAppend(&sql, NamespaceSql(query.namespace_name, "t.id"));
  for (size_t i = 0; i < query.labels.size(); ++i) {
    absl::StrAppend(&sql,
                    " AND EXISTS (SELECT 1 FROM task_labels l WHERE "
                    "l.task = t.position AND l.key = ?",
                    7 + 2 * i, " AND l.value = ?", 8 + 2 * i, ")");
  }
  absl::StrAppend(&sql, " ORDER BY t.position DESC LIMIT ?4");
  return sql;
}

}  // namespace

absl::Status TaskNotFoundError(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("no task with id ", QuoteInput(id)));
}

absl::StatusOr<std::optional<DefinitionRecord>> FindDefinition(
    SqliteConnection& connection, absl::string_view name,
    absl::string_view version) {
  absl::StatusOr<SqliteStatement> select = connection.Prepare(
      "SELECT definition, registered_at_ns FROM definitions "
      "WHERE name = ?1 AND version = ?2");
  if (!select.ok()) return select.status();
  select->BindText(1, name);
  select->BindText(2, version);
  absl::StatusOr<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  return ReadDefinitionRow(*select, 0);
}

absl::StatusOr<DefinitionRecord> QueryDefinition(SqliteConnection& connection,
                                                 absl::string_view name,
                                                 absl::string_view version) {
  if (!version.empty()) {
    auto found = FindDefinition(connection, name, version);
    if (!found.ok()) return found.status();
    if (found->has_value()) return **std::move(found);
    return absl::NotFoundError(absl::StrCat("no definition ", QuoteInput(name),
                                            " version ", QuoteInput(version),
                                            " is registered"));
  }
  absl::StatusOr<SqliteStatement> latest = connection.Prepare(
      "SELECT definition, registered_at_ns FROM definitions "
      "WHERE name = ?1 ORDER BY position DESC LIMIT 1");
  if (!latest.ok()) return latest.status();
  latest->BindText(1, name);
  absl::StatusOr<bool> row = latest->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat(
        "no definition named ", QuoteInput(name), " is registered"));
  }
  return ReadDefinitionRow(*latest, 0);
}

absl::StatusOr<DefinitionPage> QueryDefinitions(SqliteConnection& connection,
                                                const DefinitionQuery& query) {
  absl::StatusOr<int64_t> before = ListBefore(query.page_token);
  if (!before.ok()) return before.status();
  absl::StatusOr<SqliteStatement> select = connection.Prepare(absl::StrCat(
      "SELECT position, definition, registered_at_ns FROM definitions "
      "WHERE position < ?1 AND (?2 = '' OR name = ?2)",
      NamespaceSql(query.namespace_name, "name"),
      " ORDER BY position DESC LIMIT ?3"));
  if (!select.ok()) return select.status();
  select->BindInt(1, *before);
  select->BindText(2, query.name);
  select->BindInt(3, int64_t{query.page_size} + 1);
  BindNamespace(*select, query.namespace_name);
  DefinitionPage page;
  int64_t last_position = 0;
  for (;;) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (static_cast<int>(page.definitions.size()) == query.page_size) {
      page.next_page_token = EncodePageToken(last_position);
      break;
    }
    absl::StatusOr<DefinitionRecord> record = ReadDefinitionRow(*select, 1);
    if (!record.ok()) return record.status();
    page.definitions.push_back(*std::move(record));
    last_position = select->Int(0);
  }
  return page;
}

absl::StatusOr<std::optional<TaskRecord>> FindTask(SqliteConnection& connection,
                                                   absl::string_view id) {
  static const std::string kSql = absl::StrCat(
      "SELECT ", kTaskColumns, " FROM ", kTaskTables, " WHERE t.id = ?1");
  absl::StatusOr<SqliteStatement> select = connection.Prepare(kSql);
  if (!select.ok()) return select.status();
  select->BindText(1, id);
  absl::StatusOr<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  return ReadTaskRow(*select);
}

absl::StatusOr<TaskPage> QueryTasks(SqliteConnection& connection,
                                    const TaskQuery& query) {
  absl::StatusOr<int64_t> before = ListBefore(query.page_token);
  if (!before.ok()) return before.status();
  absl::StatusOr<SqliteStatement> select =
      connection.Prepare(TaskListSql(query));
  if (!select.ok()) return select.status();
  select->BindInt(1, *before);
  if (query.status != v1::TASK_STATUS_UNSPECIFIED) {
    select->BindInt(2, query.status);
  }
  if (!query.definition_name.empty()) {
    select->BindText(3, query.definition_name);
  }
  select->BindInt(4, int64_t{query.page_size} + 1);
  BindNamespace(*select, query.namespace_name);
  int index = 7;
  for (const auto& [key, value] : query.labels) {
    select->BindText(index++, key);
    select->BindText(index++, value);
  }
  TaskPage page;
  int64_t last_position = 0;
  for (;;) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (static_cast<int>(page.tasks.size()) == query.page_size) {
      page.next_page_token = EncodePageToken(last_position);
      break;
    }
    absl::StatusOr<TaskRecord> record = ReadTaskRow(*select);
    if (!record.ok()) return record.status();
    page.tasks.push_back(*std::move(record));
    last_position = select->Int(0);
  }
  return page;
}

absl::StatusOr<EventBatch> QueryEvents(SqliteConnection& connection,
                                       absl::string_view id,
                                       uint64_t after_sequence,
                                       int max_events) {
  absl::StatusOr<SqliteStatement> task = connection.Prepare(
      "SELECT position, last_event_sequence, ended FROM tasks WHERE id = ?1");
  if (!task.ok()) return task.status();
  task->BindText(1, id);
  absl::StatusOr<bool> found = task->Step();
  if (!found.ok()) return found.status();
  if (!*found) return TaskNotFoundError(id);
  EventBatch batch;
  batch.last_sequence = static_cast<uint64_t>(task->Int(1));
  batch.task_ended = task->Int(2) != 0;
  // Rows whose last event comes after `after_sequence`; the first may begin
  // before it.
  absl::StatusOr<SqliteStatement> select = connection.Prepare(
      "SELECT encoding, event FROM events WHERE task = ?1 AND sequence > ?2 "
      "ORDER BY sequence");
  if (!select.ok()) return select.status();
  select->BindInt(1, task->Int(0));
  select->BindInt(2, static_cast<int64_t>(std::min<uint64_t>(
                         after_sequence, std::numeric_limits<int64_t>::max())));
  const size_t limit = static_cast<size_t>(std::max(0, max_events));
  std::vector<v1::TaskEvent> row_events;
  while (batch.events.size() < limit) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    row_events.clear();
    if (!DecodeEventRow(static_cast<int>(select->Int(0)), select->Blob(1),
                        row_events)) {
      return absl::DataLossError(absl::StrCat(
          "task ", QuoteInput(id), ": a stored event cannot be parsed"));
    }
    for (v1::TaskEvent& event : row_events) {
      if (event.sequence() <= after_sequence) continue;
      if (batch.events.size() == limit) break;
      batch.events.push_back(std::move(event));
    }
  }
  return batch;
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> QueryStatusCounts(
    SqliteConnection& connection) {
  absl::StatusOr<SqliteStatement> select = connection.Prepare(
      "SELECT status, count FROM task_counts WHERE count > 0");
  if (!select.ok()) return select.status();
  std::map<v1::TaskStatus, uint64_t> counts;
  for (;;) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return counts;
    counts[static_cast<v1::TaskStatus>(select->Int(0))] =
        static_cast<uint64_t>(select->Int(1));
  }
}

absl::StatusOr<std::optional<WakeRecord>> QueryWake(
    SqliteConnection& connection, absl::string_view id,
    absl::string_view request_id) {
  absl::StatusOr<SqliteStatement> select = connection.Prepare(
      "SELECT w.disposition, w.sequence FROM tasks t LEFT JOIN wakes w "
      "ON w.task = t.position AND w.request_id = ?2 WHERE t.id = ?1");
  if (!select.ok()) return select.status();
  select->BindText(1, id);
  select->BindText(2, request_id);
  absl::StatusOr<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return TaskNotFoundError(id);
  if (select->IsNull(0)) return std::nullopt;
  return WakeRecord{
      static_cast<v1::WakeTaskResponse::Disposition>(select->Int(0)),
      static_cast<uint64_t>(select->Int(1))};
}

absl::Status QueryUnfinished(SqliteConnection& connection,
                             int64_t after_position, int limit,
                             std::vector<std::pair<int64_t, TaskRecord>>& tasks,
                             ParsedDefinitions& parsed) {
  static const std::string kSql =
      absl::StrCat("SELECT ", kTaskColumns, " FROM ", kTaskTables,
                   " WHERE t.finished_at_ns IS NULL AND t.position > ?1 "
                   "ORDER BY t.position LIMIT ?2");
  absl::StatusOr<SqliteStatement> select = connection.Prepare(kSql);
  if (!select.ok()) return select.status();
  select->BindInt(1, after_position);
  select->BindInt(2, limit);
  for (;;) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    absl::StatusOr<TaskRecord> record = ReadTaskRow(*select, &parsed);
    if (!record.ok()) return record.status();
    tasks.emplace_back(select->Int(0), *std::move(record));
  }
}

}  // namespace corosched::server
