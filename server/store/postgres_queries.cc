#include "server/store/postgres_queries.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "server/store/store_keys.h"

namespace corosched::server {
namespace {

absl::Status Unparsable(absl::string_view id, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(
      "task ", QuoteInput(id), ": its stored ", what,
      " cannot be parsed; the database is damaged or was written by an "
      "incompatible build"));
}

bool Parse(absl::string_view bytes, google::protobuf::MessageLite& message) {
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

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

// Builds a statement's text and its parameters together: each Add* appends
// a parameter and returns its placeholder.
class SqlBuilder {
 public:
  std::string Text(absl::string_view text) {
    params_.Text(text);
    return Next();
  }
  std::string Int(int64_t value) {
    params_.Int(value);
    return Next();
  }
  const PgParams& params() const { return params_; }

 private:
  std::string Next() { return absl::StrCat("$", params_.size()); }
  PgParams params_;
};

absl::StatusOr<DefinitionRecord> ReadDefinition(const PgResult& result, int row,
                                                int column) {
  DefinitionRecord record;
  if (!Parse(result.Bytes(row, column), record.definition)) {
    return absl::DataLossError(
        "a stored definition cannot be parsed; the database is damaged");
  }
  record.registered_at = absl::FromUnixNanos(result.Int(row, column + 1));
  return record;
}

void AppendJsonString(std::string& out, absl::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\u00",
                      absl::Hex(static_cast<int>(c), absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

absl::Status PgTaskNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("no task with id ", QuoteInput(id)));
}

std::string PgInputsAndLabels(const TaskRecord& record) {
  v1::SubmitTaskRequest holder;
  *holder.mutable_inputs() = record.inputs;
  holder.mutable_labels()->insert(record.labels.begin(), record.labels.end());
  return DeterministicBytes(holder);
}

std::string PgLabelsJson(const std::map<std::string, std::string>& labels) {
  std::string out = "{";
  for (const auto& [key, value] : labels) {
    if (out.size() > 1) out += ',';
    AppendJsonString(out, key);
    out += ':';
    AppendJsonString(out, value);
  }
  out += '}';
  return out;
}

absl::StatusOr<TaskRecord> ReadPgTask(const PgResult& result, int row,
                                      PgParsedDefinitions* parsed) {
  TaskRecord record;
  record.id = std::string(result.Bytes(row, 1));
  record.request_fingerprint = std::string(result.Bytes(row, 2));
  const absl::string_view definition = result.Bytes(row, 3);
  if (parsed != nullptr) {
    if (auto known = parsed->find(definition); known != parsed->end()) {
      record.definition = known->second;
    }
  }
  if (record.definition.shared() == nullptr) {
    v1::TaskDefinition message;
    if (!Parse(definition, message)) return Unparsable(record.id, "definition");
    record.definition = std::move(message);
    if (parsed != nullptr) {
      if (parsed->size() >= 4096) parsed->clear();  // many distinct ones
      parsed->emplace(std::string(definition), record.definition);
    }
  }
  v1::SubmitTaskRequest holder;
  if (!Parse(result.Bytes(row, 4), holder)) {
    return Unparsable(record.id, "inputs and labels");
  }
  record.inputs.swap(*holder.mutable_inputs());
  record.labels.insert(holder.labels().begin(), holder.labels().end());
  record.created_at = absl::FromUnixNanos(result.Int(row, 5));
  if (!result.IsNull(row, 6)) {
    record.start_at = absl::FromUnixNanos(result.Int(row, 6));
  }
  if (!result.IsNull(row, 7)) {
    record.finished_at = absl::FromUnixNanos(result.Int(row, 7));
  }
  if (!Parse(result.Bytes(row, 8), record.snapshot)) {
    return Unparsable(record.id, "snapshot");
  }
  record.last_event_sequence = static_cast<uint64_t>(result.Int(row, 9));
  return record;
}

absl::StatusOr<DefinitionRecord> PgQueryDefinition(PgConnection& connection,
                                                   absl::string_view name,
                                                   absl::string_view version) {
  PgParams params;
  params.Text(name);
  if (!version.empty()) params.Text(version);
  absl::StatusOr<PgResult> found = connection.Query(
      version.empty()
          ? "SELECT definition, registered_at_ns FROM corosched_definitions "
            "WHERE name = $1 ORDER BY position DESC LIMIT 1"
          : "SELECT definition, registered_at_ns FROM corosched_definitions "
            "WHERE name = $1 AND version = $2",
      params);
  if (!found.ok()) return found.status();
  if (found->rows() == 0) {
    if (version.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "no definition named ", QuoteInput(name), " is registered"));
    }
    return absl::NotFoundError(absl::StrCat("no definition ", QuoteInput(name),
                                            " version ", QuoteInput(version),
                                            " is registered"));
  }
  return ReadDefinition(*found, 0, 0);
}

absl::StatusOr<DefinitionPage> PgQueryDefinitions(
    PgConnection& connection, const DefinitionQuery& query) {
  absl::StatusOr<int64_t> before = ListBefore(query.page_token);
  if (!before.ok()) return before.status();
  SqlBuilder sql;
  std::string text = absl::StrCat(
      "SELECT position, definition, registered_at_ns FROM "
      "corosched_definitions WHERE position < ",
      sql.Int(*before));
  if (!query.name.empty()) {
    absl::StrAppend(&text, " AND name = ", sql.Text(query.name));
  }
  if (!query.namespace_name.empty()) {
    absl::StrAppend(&text, " AND namespace = ", sql.Text(query.namespace_name));
  }
  absl::StrAppend(&text, " ORDER BY position DESC LIMIT ",
                  sql.Int(int64_t{query.page_size} + 1));
  absl::StatusOr<PgResult> rows = connection.Query(text, sql.params());
  if (!rows.ok()) return rows.status();
  DefinitionPage page;
  for (int row = 0; row < rows->rows(); ++row) {
    if (static_cast<int>(page.definitions.size()) == query.page_size) {
      page.next_page_token = EncodePageToken(rows->Int(row - 1, 0));
      break;
    }
    absl::StatusOr<DefinitionRecord> record = ReadDefinition(*rows, row, 1);
    if (!record.ok()) return record.status();
    page.definitions.push_back(*std::move(record));
  }
  return page;
}

absl::StatusOr<std::optional<TaskRecord>> PgFindTask(PgConnection& connection,
                                                     absl::string_view id) {
  static const std::string kSql = absl::StrCat(
      "SELECT ", kPgTaskColumns, " FROM corosched_tasks t WHERE t.key = $1");
  PgParams params;
  params.Text(id);
  absl::StatusOr<PgResult> found = connection.Query(kSql, params);
  if (!found.ok()) return found.status();
  if (found->rows() == 0) return std::nullopt;
  return ReadPgTask(*found, 0);
}

absl::StatusOr<TaskPage> PgQueryTasks(PgConnection& connection,
                                      const TaskQuery& query) {
  absl::StatusOr<int64_t> before = ListBefore(query.page_token);
  if (!before.ok()) return before.status();
  SqlBuilder sql;
  // Only the filters the query uses appear, so the planner picks the index
  // that fits (namespace, status or definition name, then position).
  std::string text = absl::StrCat("SELECT ", kPgTaskColumns,
                                  " FROM corosched_tasks t WHERE t.position < ",
                                  sql.Int(*before));
  if (query.status != v1::TASK_STATUS_UNSPECIFIED) {
    absl::StrAppend(&text, " AND t.status = ", sql.Int(query.status));
  }
  if (!query.definition_name.empty()) {
    absl::StrAppend(
        &text, " AND t.definition_name = ", sql.Text(query.definition_name));
  }
  if (!query.namespace_name.empty()) {
    absl::StrAppend(&text,
                    " AND t.namespace = ", sql.Text(query.namespace_name));
  }
  if (!query.labels.empty()) {
    absl::StrAppend(&text, " AND t.labels @> ",
                    sql.Text(PgLabelsJson(query.labels)), "::jsonb");
  }
  absl::StrAppend(&text, " ORDER BY t.position DESC LIMIT ",
                  sql.Int(int64_t{query.page_size} + 1));
  absl::StatusOr<PgResult> rows = connection.Query(text, sql.params());
  if (!rows.ok()) return rows.status();
  TaskPage page;
  for (int row = 0; row < rows->rows(); ++row) {
    if (static_cast<int>(page.tasks.size()) == query.page_size) {
      page.next_page_token = EncodePageToken(rows->Int(row - 1, 0));
      break;
    }
    absl::StatusOr<TaskRecord> record = ReadPgTask(*rows, row);
    if (!record.ok()) return record.status();
    page.tasks.push_back(*std::move(record));
  }
  return page;
}

absl::StatusOr<EventBatch> PgQueryEvents(PgConnection& connection,
                                         absl::string_view id,
                                         uint64_t after_sequence,
                                         int max_events) {
  // One statement: the task's counters and its events from one snapshot.
  PgParams params;
  params.Text(id)
      .Int(static_cast<int64_t>(std::min<uint64_t>(
          after_sequence, std::numeric_limits<int64_t>::max())))
      .Int(std::max(0, max_events));
  absl::StatusOr<PgResult> rows = connection.Query(
      "SELECT t.last_event_sequence, t.ended, e.event "
      "FROM corosched_tasks t LEFT JOIN LATERAL ("
      "  SELECT sequence, event FROM corosched_task_events "
      "  WHERE task_key = t.key AND sequence > $2 ORDER BY sequence LIMIT $3"
      ") e ON true WHERE t.key = $1 ORDER BY e.sequence",
      params);
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return PgTaskNotFound(id);
  EventBatch batch;
  batch.last_sequence = static_cast<uint64_t>(rows->Int(0, 0));
  batch.task_ended = rows->Bool(0, 1);
  for (int row = 0; row < rows->rows(); ++row) {
    if (rows->IsNull(row, 2)) continue;  // the task has none to read
    if (!Parse(rows->Bytes(row, 2), batch.events.emplace_back())) {
      return absl::DataLossError(absl::StrCat(
          "task ", QuoteInput(id), ": a stored event cannot be parsed"));
    }
  }
  return batch;
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> PgQueryStatusCounts(
    PgConnection& connection, absl::string_view namespace_name) {
  PgParams params;
  if (!namespace_name.empty()) params.Text(namespace_name);
  absl::StatusOr<PgResult> rows = connection.Query(
      namespace_name.empty()
          ? "SELECT status, count(*) FROM corosched_tasks GROUP BY status"
          : "SELECT status, count(*) FROM corosched_tasks "
            "WHERE namespace = $1 GROUP BY status",
      params);
  if (!rows.ok()) return rows.status();
  std::map<v1::TaskStatus, uint64_t> counts;
  for (int row = 0; row < rows->rows(); ++row) {
    counts[static_cast<v1::TaskStatus>(rows->Int(row, 0))] =
        static_cast<uint64_t>(rows->Int(row, 1));
  }
  return counts;
}

absl::StatusOr<std::optional<WakeRecord>> PgQueryWake(
    PgConnection& connection, absl::string_view id,
    absl::string_view request_id) {
  PgParams params;
  params.Text(id).Text(request_id);
  absl::StatusOr<PgResult> rows = connection.Query(
      "SELECT w.disposition, w.sequence FROM corosched_tasks t "
      "LEFT JOIN corosched_wakes w ON w.task_key = t.key AND "
      "w.request_id = $2 WHERE t.key = $1",
      params);
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return PgTaskNotFound(id);
  if (rows->IsNull(0, 0)) return std::nullopt;
  return WakeRecord{
      static_cast<v1::WakeTaskResponse::Disposition>(rows->Int(0, 0)),
      static_cast<uint64_t>(rows->Int(0, 1))};
}

absl::Status PgQueryUnfinished(
    PgConnection& connection, int64_t after_position, int limit,
    std::vector<std::pair<int64_t, TaskRecord>>& tasks,
    PgParsedDefinitions& parsed) {
  static const std::string kSql =
      absl::StrCat("SELECT ", kPgTaskColumns,
                   " FROM corosched_tasks t WHERE t.finished_at_ns IS NULL "
                   "AND t.position > $1 ORDER BY t.position LIMIT $2");
  PgParams params;
  params.Int(after_position).Int(limit);
  absl::StatusOr<PgResult> rows = connection.Query(kSql, params);
  if (!rows.ok()) return rows.status();
  for (int row = 0; row < rows->rows(); ++row) {
    absl::StatusOr<TaskRecord> record = ReadPgTask(*rows, row, &parsed);
    if (!record.ok()) return record.status();
    tasks.emplace_back(rows->Int(row, 0), *std::move(record));
  }
  return absl::OkStatus();
}

}  // namespace corosched::server
