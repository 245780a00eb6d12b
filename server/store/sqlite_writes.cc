#include "server/store/sqlite_writes.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "server/store/sqlite_queries.h"
#include "server/store/sqlite_task_rows.h"
#include "server/store/store_keys.h"

namespace corosched::server {
namespace {

// What a write needs to know of an existing task.
struct TaskKey {
  int64_t position = 0;
  uint64_t last_event_sequence = 0;
  std::string request_fingerprint;
  v1::TaskStatus status = v1::TASK_STATUS_UNSPECIFIED;
};

// Whether the last of `events` is the task's `finished` one.
bool EndsTheTask(const std::vector<v1::TaskEvent>& events) {
  return !events.empty() && events.back().has_finished();
}

absl::StatusOr<std::optional<TaskKey>> FindTaskKey(SqliteConnection& connection,
                                                   absl::string_view id) {
  absl::StatusOr<SqliteStatement> select = connection.Prepare(
      "SELECT position, last_event_sequence, request_fingerprint, status "
      "FROM tasks WHERE id = ?1");
  if (!select.ok()) return select.status();
  select->BindText(1, id);
  absl::StatusOr<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  return TaskKey{select->Int(0), static_cast<uint64_t>(select->Int(1)),
                 std::string(select->Blob(2)),
                 static_cast<v1::TaskStatus>(select->Int(3))};
}

// The id of `definition` in task_definitions, stored now if it is new.
absl::StatusOr<int64_t> StoreTaskDefinition(
    SqliteConnection& connection, const v1::TaskDefinition& definition) {
  const std::string bytes = DeterministicBytes(definition);
  const int64_t digest = DefinitionDigest(bytes);
  absl::StatusOr<SqliteStatement> select = connection.Prepare(
      "SELECT id FROM task_definitions WHERE digest = ?1 AND definition = ?2");
  if (!select.ok()) return select.status();
  select->BindInt(1, digest);
  select->BindBlob(2, bytes);
  absl::StatusOr<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (*row) return select->Int(0);
  absl::StatusOr<SqliteStatement> insert = connection.Prepare(
      "INSERT INTO task_definitions (digest, definition) VALUES (?1, ?2)");
  if (!insert.ok()) return insert.status();
  insert->BindInt(1, digest);
  insert->BindBlob(2, bytes);
  if (absl::Status run = insert->Run(); !run.ok()) return run;
  return connection.last_insert_rowid();
}

absl::Status InsertLabels(SqliteConnection& connection, int64_t task,
                          const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    absl::StatusOr<SqliteStatement> insert = connection.Prepare(
        "INSERT INTO task_labels (task, key, value) VALUES (?1, ?2, ?3)");
    if (!insert.ok()) return insert.status();
    insert->BindInt(1, task);
    insert->BindText(2, key);
    insert->BindText(3, value);
    if (absl::Status run = insert->Run(); !run.ok()) return run;
  }
  return absl::OkStatus();
}

// Appends `events` numbered after `last_sequence`, as one row (a run, see
// sqlite_task_rows.h); returns the new last.
absl::StatusOr<uint64_t> AppendEvents(SqliteConnection& connection,
                                      int64_t task, uint64_t last_sequence,
                                      std::vector<v1::TaskEvent>& events) {
  if (events.empty()) return last_sequence;
  for (v1::TaskEvent& event : events) event.set_sequence(++last_sequence);
  absl::StatusOr<SqliteStatement> insert = connection.Prepare(
      "INSERT INTO events (task, sequence, event, encoding) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!insert.ok()) return insert.status();
  insert->BindInt(1, task);
  insert->BindInt(2, static_cast<int64_t>(last_sequence));
  insert->BindBlob(3, EncodeEventRun(events));
  insert->BindInt(4, kEventRun);
  if (absl::Status run = insert->Run(); !run.ok()) return run;
  return last_sequence;
}

// Deletes the task's runs of events that end at or before `sequence`: the
// oldest past max_events_per_task (a run that straddles it stays whole).
absl::Status DropEventsUpTo(SqliteConnection& connection, int64_t task,
                            uint64_t sequence) {
  absl::StatusOr<SqliteStatement> remove = connection.Prepare(
      "DELETE FROM events WHERE task = ?1 AND sequence <= ?2");
  if (!remove.ok()) return remove.status();
  remove->BindInt(1, task);
  remove->BindInt(2, static_cast<int64_t>(sequence));
  return remove->Run();
}

// Inserts the task's row, counting `events` (appended next) in advance.
// Returns its position, or nullopt (and writes nothing) when the id is
// taken.
absl::StatusOr<std::optional<int64_t>> InsertTask(
    SqliteConnection& connection, const TaskRecord& record,
    int64_t definition_id, const std::vector<v1::TaskEvent>& events) {
  absl::StatusOr<SqliteStatement> insert = connection.Prepare(
      "INSERT INTO tasks (id, request_fingerprint, definition_id, "
      "definition_name, inputs_and_labels, created_at_ns, start_at_ns, "
      "finished_at_ns, status, snapshot, last_event_sequence, ended) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
      "ON CONFLICT (id) DO NOTHING");
  if (!insert.ok()) return insert.status();
  insert->BindText(1, record.id);
  insert->BindBlob(2, record.request_fingerprint);
  insert->BindInt(3, definition_id);
  insert->BindText(4, record.definition->name());
  insert->BindBlob(5, EncodeInputsAndLabels(record));
  insert->BindInt(6, ToStoredTime(record.created_at));
  if (record.start_at.has_value()) {
    insert->BindInt(7, ToStoredTime(*record.start_at));
  }
  if (record.finished_at.has_value()) {
    insert->BindInt(8, ToStoredTime(*record.finished_at));
  }
  insert->BindInt(9, record.snapshot.status());
  insert->BindBlob(10, record.snapshot.SerializeAsString());
  insert->BindInt(11, static_cast<int64_t>(events.size()));
  insert->BindInt(12, EndsTheTask(events) ? 1 : 0);
  if (absl::Status run = insert->Run(); !run.ok()) return run;
  if (connection.changes() == 0) return std::nullopt;
  return connection.last_insert_rowid();
}

// The answer to a create whose id is taken (`key`): the task as it is for
// the same request again, ALREADY_EXISTS for another.
absl::StatusOr<CreateTaskResult> ExistingTask(SqliteConnection& connection,
                                              const TaskRecord& record,
                                              const TaskKey& key) {
  if (key.request_fingerprint.empty() ||
      key.request_fingerprint != record.request_fingerprint) {
    return absl::AlreadyExistsError(absl::StrCat(
        "task id ", QuoteInput(record.id),
        " was already used by a different submit request; choose another "
        "id, or repeat the original request exactly"));
  }
  auto found = FindTask(connection, record.id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return TaskNotFoundError(record.id);
  return CreateTaskResult{**std::move(found), false};
}

// Replaces the task's snapshot. With `events` (appended next), also moves
// its event counters past them.
absl::Status UpdateTask(SqliteConnection& connection, const TaskKey& task,
                        const v1::TaskSnapshot& snapshot,
                        std::optional<absl::Time> finished_at,
                        const std::vector<v1::TaskEvent>& events) {
  absl::StatusOr<SqliteStatement> update = connection.Prepare(
      "UPDATE tasks SET snapshot = ?2, status = ?3, "
      "finished_at_ns = coalesce(finished_at_ns, ?4), "
      "last_event_sequence = ?5, ended = coalesce(?6, ended) "
      "WHERE position = ?1");
  if (!update.ok()) return update.status();
  update->BindInt(1, task.position);
  update->BindBlob(2, snapshot.SerializeAsString());
  update->BindInt(3, snapshot.status());
  if (finished_at.has_value()) update->BindInt(4, ToStoredTime(*finished_at));
  update->BindInt(
      5, static_cast<int64_t>(task.last_event_sequence + events.size()));
  if (!events.empty()) update->BindInt(6, EndsTheTask(events) ? 1 : 0);
  return update->Run();
}

// UpdateTask's change of status, once the whole write succeeded.
void CountUpdate(const TaskKey& task, const v1::TaskSnapshot& snapshot,
                 WriterState& state) {
  state.status_counts.Move(task.status, snapshot.status());
}

}  // namespace

absl::StatusOr<PutDefinitionResult> WriteDefinition(
    SqliteConnection& connection, const v1::TaskDefinition& definition,
    absl::Time now) {
  auto existing =
      FindDefinition(connection, definition.name(), definition.version());
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    if (DeterministicBytes((*existing)->definition) !=
        DeterministicBytes(definition)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "definition ", QuoteInput(definition.name()), " version ",
          QuoteInput(definition.version()),
          " is already registered with different contents; register the "
          "change under a new version"));
    }
    return PutDefinitionResult{**std::move(existing), false};
  }
  absl::StatusOr<SqliteStatement> insert = connection.Prepare(
      "INSERT INTO definitions (name, version, definition, registered_at_ns) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!insert.ok()) return insert.status();
  insert->BindText(1, definition.name());
  insert->BindText(2, definition.version());
  insert->BindBlob(3, DeterministicBytes(definition));
  insert->BindInt(4, ToStoredTime(now));
  if (absl::Status run = insert->Run(); !run.ok()) return run;
  return PutDefinitionResult{{definition, now}, true};
}

std::optional<int64_t> DefinitionIdCache::Find(
    const SharedDefinition& definition) const {
  auto it = ids_.find(definition.shared().get());
  if (it == ids_.end()) return std::nullopt;
  return it->second.second;
}

void DefinitionIdCache::Add(const SharedDefinition& definition, int64_t id) {
  if (definition.shared() == nullptr) return;
  if (ids_.size() >= kMaxEntries) ids_.clear();
  ids_.try_emplace(definition.shared().get(), definition.shared(), id);
}

void StatusCountChanges::Add(v1::TaskStatus status, int64_t delta) {
  const int index = static_cast<int>(status);
  deltas_[index >= 0 && index < kStatuses ? index : 0] += delta;
}

void StatusCountChanges::Move(v1::TaskStatus from, v1::TaskStatus to) {
  if (from == to) return;
  Add(from, -1);
  Add(to, 1);
}

void StatusCountChanges::Add(const StatusCountChanges& other) {
  for (int status = 0; status < kStatuses; ++status) {
    deltas_[status] += other.deltas_[status];
  }
}

absl::Status StatusCountChanges::Flush(SqliteConnection& connection) {
  for (int status = 0; status < kStatuses; ++status) {
    const int64_t delta = std::exchange(deltas_[status], 0);
    if (delta == 0) continue;
    absl::StatusOr<SqliteStatement> upsert = connection.Prepare(
        "INSERT INTO task_counts (status, count) VALUES (?1, ?2) "
        "ON CONFLICT (status) DO UPDATE SET count = count + excluded.count");
    if (!upsert.ok()) return upsert.status();
    upsert->BindInt(1, status);
    upsert->BindInt(2, delta);
    if (absl::Status run = upsert->Run(); !run.ok()) return run;
  }
  return absl::OkStatus();
}

absl::StatusOr<CreateTaskResult> WriteNewTask(
    SqliteConnection& connection, TaskRecord record,
    std::vector<v1::TaskEvent> first_events, WriterState& state) {
  DefinitionIdCache* ids = &state.definition_ids;
  const std::optional<int64_t> cached_id = ids->Find(record.definition);
  if (!cached_id.has_value()) {
    // Storing the definition writes: a taken id must be refused before.
    auto existing = FindTaskKey(connection, record.id);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      return ExistingTask(connection, record, **existing);
    }
  }
  absl::StatusOr<int64_t> definition_id =
      cached_id.has_value()
          ? *cached_id
          : StoreTaskDefinition(connection, *record.definition);
  if (!definition_id.ok()) return definition_id.status();
  // With the definition's id cached nothing is written before this insert,
  // which looks for a taken id itself: one index probe fewer per create.
  auto task = InsertTask(connection, record, *definition_id, first_events);
  if (!task.ok()) return task.status();
  if (!task->has_value()) {
    auto existing = FindTaskKey(connection, record.id);
    if (!existing.ok()) return existing.status();
    if (!existing->has_value()) {
      return absl::InternalError(absl::StrCat("task id ", QuoteInput(record.id),
                                              " is taken but cannot be found"));
    }
    return ExistingTask(connection, record, **existing);
  }
  const int64_t position = **task;
  if (absl::Status labels = InsertLabels(connection, position, record.labels);
      !labels.ok()) {
    return labels;
  }
  auto last = AppendEvents(connection, position, 0, first_events);
  if (!last.ok()) return last.status();
  if (!cached_id.has_value()) ids->Add(record.definition, *definition_id);
  state.status_counts.Add(record.snapshot.status(), 1);
  // Moved, not copied: the writer would otherwise copy every task's
  // definition, inputs and snapshot once more.
  CreateTaskResult result{std::move(record), true};
  result.record.last_event_sequence = *last;
  return result;
}

absl::StatusOr<CreateTaskResult> WriteNewTaskWithProgress(
    SqliteConnection& connection, TaskRecord record,
    std::vector<v1::TaskEvent> first_events, TaskProgress progress,
    WriterState& state, absl::StatusOr<uint64_t>& progress_last) {
  const size_t first_count = first_events.size();
  std::swap(record.snapshot, progress.snapshot);  // progress: as submitted
  record.finished_at = progress.finished_at;
  for (v1::TaskEvent& event : progress.events) {
    first_events.push_back(std::move(event));
  }
  absl::StatusOr<CreateTaskResult> created = WriteNewTask(
      connection, std::move(record), std::move(first_events), state);
  if (!created.ok()) {
    progress_last = created.status();
    return created;
  }
  progress_last = created->record.last_event_sequence;
  TaskRecord& answer = created->record;
  answer.snapshot = std::move(progress.snapshot);
  answer.finished_at.reset();
  answer.last_event_sequence = first_count;
  return created;
}

absl::StatusOr<uint64_t> WriteProgress(SqliteConnection& connection,
                                       absl::string_view id,
                                       TaskProgress progress,
                                       WriterState& state) {
  auto task = FindTaskKey(connection, id);
  if (!task.ok()) return task.status();
  if (!task->has_value()) return TaskNotFoundError(id);
  absl::Status updated = UpdateTask(connection, **task, progress.snapshot,
                                    progress.finished_at, progress.events);
  if (!updated.ok()) return updated;
  auto last = AppendEvents(connection, (*task)->position,
                           (*task)->last_event_sequence, progress.events);
  if (!last.ok()) return last;
  if (*last > state.max_events_per_task) {
    absl::Status dropped = DropEventsUpTo(connection, (*task)->position,
                                          *last - state.max_events_per_task);
    if (!dropped.ok()) return dropped;
  }
  CountUpdate(**task, progress.snapshot, state);
  return last;
}

namespace {

// Keeps `wake` as the answer to `request_id` (unless one is kept already)
// and stores `snapshot` as the task's.
absl::Status WriteWake(SqliteConnection& connection, absl::string_view id,
                       absl::string_view request_id, const WakeRecord& wake,
                       const v1::TaskSnapshot& snapshot, WriterState& state) {
  auto task = FindTaskKey(connection, id);
  if (!task.ok()) return task.status();
  if (!task->has_value()) return TaskNotFoundError(id);
  const int64_t position = (*task)->position;
  if (!request_id.empty()) {
    // The first answer stays: a repeated request id changes nothing here.
    absl::StatusOr<SqliteStatement> insert = connection.Prepare(
        "INSERT INTO wakes (task, request_id, disposition, sequence) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
    if (!insert.ok()) return insert.status();
    insert->BindInt(1, position);
    insert->BindText(2, request_id);
    insert->BindInt(3, wake.disposition);
    insert->BindInt(4, static_cast<int64_t>(wake.sequence));
    if (absl::Status run = insert->Run(); !run.ok()) return run;
  }
  absl::Status updated =
      UpdateTask(connection, **task, snapshot, std::nullopt, {});
  if (updated.ok()) CountUpdate(**task, snapshot, state);
  return updated;
}

}  // namespace

absl::Status WriteWakeSignal(SqliteConnection& connection, absl::string_view id,
                             absl::string_view request_id,
                             const WakeRecord& wake,
                             const v1::PendingSignal& signal,
                             WriterState& state) {
  // The snapshot as stored now: every write queued before this one applied.
  auto task = FindTask(connection, id);
  if (!task.ok()) return task.status();
  if (!task->has_value()) return TaskNotFoundError(id);
  v1::TaskSnapshot snapshot = std::move((*task)->snapshot);
  AddPendingSignal(snapshot, signal);
  return WriteWake(connection, id, request_id, wake, snapshot, state);
}

absl::StatusOr<int> DeleteFinishedBefore(SqliteConnection& connection,
                                         absl::Time cutoff, int max_tasks,
                                         WriterState& state) {
  absl::StatusOr<SqliteStatement> remove = connection.Prepare(
      "DELETE FROM tasks WHERE position IN (SELECT position FROM tasks "
      "WHERE finished_at_ns < ?1 ORDER BY finished_at_ns LIMIT ?2) "
      "RETURNING status");
  if (!remove.ok()) return remove.status();
  remove->BindInt(1, ToStoredTime(cutoff));
  remove->BindInt(2, max_tasks);
  StatusCountChanges removed;
  int count = 0;
  for (;;) {
    absl::StatusOr<bool> row = remove->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    removed.Add(static_cast<v1::TaskStatus>(remove->Int(0)), -1);
    ++count;
  }
  state.status_counts.Add(removed);
  return count;
}

}  // namespace corosched::server
