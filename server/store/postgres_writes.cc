#include "server/store/postgres_writes.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/quote.h"
#include "server/store/namespace_keys.h"
#include "server/store/postgres_queries.h"
#include "server/store/store_keys.h"

namespace corosched::server {
namespace {

// Whether the last of `events` is the task's `finished` one.
bool EndsTheTask(const std::vector<v1::TaskEvent>& events) {
  return !events.empty() && events.back().has_finished();
}

// When the task next needs a poll, for the order of claims: its pending
// sleep's or await's deadline; 0 (now, or when a signal comes) otherwise.
int64_t DueAt(const v1::TaskSnapshot& snapshot) {
  if (!snapshot.has_deadline()) return 0;
  return snapshot.deadline().seconds() * 1000000000 +
         snapshot.deadline().nanos();
}

// Appends `events`, numbered after `last_sequence`, in one statement.
absl::Status InsertEvents(PgConnection& connection, absl::string_view id,
                          uint64_t last_sequence,
                          std::vector<v1::TaskEvent>& events, uint64_t epoch,
                          uint64_t polls) {
  if (events.empty()) return absl::OkStatus();
  PgParams params;
  params.Text(id)
      .Int(static_cast<int64_t>(epoch))
      .Int(static_cast<int64_t>(polls));
  std::string sql =
      "INSERT INTO corosched_task_events (task_key, sequence, epoch, polls, "
      "event) VALUES ";
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].set_sequence(++last_sequence);
    params.Int(static_cast<int64_t>(last_sequence));
    params.Bytes(events[i].SerializeAsString());
    absl::StrAppend(&sql, i == 0 ? "" : ",", "($1, $", params.size() - 1,
                    ", $2, $3, $", params.size(), ")");
  }
  absl::StatusOr<PgResult> inserted = connection.Query(sql, params);
  return inserted.status();
}

// Inserts the task's row; its position, or nullopt (nothing written) when
// the id is taken.
absl::StatusOr<std::optional<int64_t>> InsertTask(
    PgConnection& connection, const TaskRecord& record,
    const std::vector<v1::TaskEvent>& events, const std::string& owner) {
  PgParams params;
  params.Text(record.id)
      .Text(SplitNamespacedKey(record.id).namespace_name)
      .Text(record.definition->name())
      .Bytes(record.request_fingerprint)
      .Bytes(DeterministicBytes(*record.definition))
      .Bytes(PgInputsAndLabels(record))
      .Text(PgLabelsJson(record.labels))
      .Int(absl::ToUnixNanos(record.created_at));
  if (record.start_at.has_value()) {
    params.Int(absl::ToUnixNanos(*record.start_at));
  } else {
    params.Null();
  }
  if (record.finished_at.has_value()) {
    params.Int(absl::ToUnixNanos(*record.finished_at));
  } else {
    params.Null();
  }
  params.Int(record.snapshot.status())
      .Bytes(record.snapshot.SerializeAsString())
      .Int(static_cast<int64_t>(events.size()))
      .Bool(EndsTheTask(events))
      .Int(DueAt(record.snapshot))
      .Text(owner);
  absl::StatusOr<PgResult> inserted = connection.Query(
      "INSERT INTO corosched_tasks (key, namespace, definition_name, "
      "request_fingerprint, definition, inputs_and_labels, labels, "
      "created_at_ns, start_at_ns, finished_at_ns, status, snapshot, "
      "last_event_sequence, ended, due_at_ns, owner, epoch) VALUES ($1, $2, "
      "$3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
      "1) ON CONFLICT (key) DO NOTHING RETURNING position",
      params);
  if (!inserted.ok()) return inserted.status();
  if (inserted->rows() == 0) return std::nullopt;
  return inserted->Int(0, 0);
}

// The answer to a create whose id is taken: the task as it is for the same
// request again, ALREADY_EXISTS for another.
absl::StatusOr<CreateTaskResult> ExistingTask(PgConnection& connection,
                                              const TaskRecord& record) {
  absl::StatusOr<std::optional<TaskRecord>> found =
      PgFindTask(connection, record.id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return PgTaskNotFound(record.id);
  const std::string& stored = (*found)->request_fingerprint;
  if (stored.empty() || stored != record.request_fingerprint) {
    return absl::AlreadyExistsError(absl::StrCat(
        "task id ", QuoteInput(record.id),
        " was already used by a different submit request; choose another "
        "id, or repeat the original request exactly"));
  }
  return CreateTaskResult{**std::move(found), false};
}

// A fenced write found no row of (id, owner, epoch): whose fault.
absl::Status Unfenced(PgConnection& connection, absl::string_view id) {
  PgParams params;
  params.Text(id);
  absl::StatusOr<PgResult> exists =
      connection.Query("SELECT 1 FROM corosched_tasks WHERE key = $1", params);
  if (!exists.ok()) return exists.status();
  return exists->rows() == 0 ? PgTaskNotFound(id) : LeaseLostError(id);
}

// "COMPLETED" for TASK_STATUS_COMPLETED.
std::string StatusName(v1::TaskStatus status) {
  return std::string(
      absl::StripPrefix(v1::TaskStatus_Name(status), "TASK_STATUS_"));
}

}  // namespace

std::string PgInboxChannel(absl::string_view daemon_id) {
  return absl::StrCat("corosched_inbox_", daemon_id);
}

absl::StatusOr<PutDefinitionResult> PgWriteDefinition(
    PgConnection& connection, const v1::TaskDefinition& definition,
    absl::Time now) {
  const std::string bytes = DeterministicBytes(definition);
  PgParams params;
  params.Text(definition.name())
      .Text(definition.version())
      .Text(SplitNamespacedKey(definition.name()).namespace_name)
      .Bytes(bytes)
      .Int(absl::ToUnixNanos(now));
  absl::StatusOr<PgResult> inserted = connection.Query(
      "INSERT INTO corosched_definitions (name, version, namespace, "
      "definition, registered_at_ns) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (name, version) DO NOTHING RETURNING position",
      params);
  if (!inserted.ok()) return inserted.status();
  if (inserted->rows() == 1)
    return PutDefinitionResult{{definition, now}, true};
  absl::StatusOr<DefinitionRecord> existing =
      PgQueryDefinition(connection, definition.name(), definition.version());
  if (!existing.ok()) return existing.status();
  if (DeterministicBytes(existing->definition) != bytes) {
    return absl::AlreadyExistsError(absl::StrCat(
        "definition ", QuoteInput(definition.name()), " version ",
        QuoteInput(definition.version()),
        " is already registered with different contents; register the "
        "change under a new version"));
  }
  return PutDefinitionResult{*std::move(existing), false};
}

absl::StatusOr<CreateTaskResult> PgWriteNewTask(
    PgConnection& connection, TaskRecord record,
    std::vector<v1::TaskEvent> first_events, const std::string& owner,
    std::optional<TaskProgress> joined, absl::StatusOr<uint64_t>* joined_last) {
  const size_t first_count = first_events.size();
  v1::TaskSnapshot submitted;
  if (joined.has_value()) {
    submitted = std::move(record.snapshot);
    record.snapshot = std::move(joined->snapshot);
    record.finished_at = joined->finished_at;
    for (v1::TaskEvent& event : joined->events) {
      first_events.push_back(std::move(event));
    }
  }
  absl::StatusOr<std::optional<int64_t>> position =
      InsertTask(connection, record, first_events, owner);
  absl::StatusOr<CreateTaskResult> result = absl::InternalError("unwritten");
  if (!position.ok()) {
    result = position.status();
  } else if (!position->has_value()) {
    result = ExistingTask(connection, record);
    if (result.ok() && joined.has_value()) {
      // Joined progress belongs to a task of this create's own; never to
      // one that held the id before.
      result = absl::AlreadyExistsError(
          absl::StrCat("task id ", QuoteInput(record.id), " is already taken"));
    }
  } else {
    absl::Status events =
        InsertEvents(connection, record.id, 0, first_events, /*epoch=*/1,
                     record.snapshot.steps().polls());
    if (!events.ok()) {
      result = events;
    } else {
      result = CreateTaskResult{std::move(record), true};
      result->record.last_event_sequence = first_events.size();
    }
  }
  if (!joined.has_value()) return result;
  if (!result.ok()) {
    *joined_last = result.status();
    return result;
  }
  *joined_last = result->record.last_event_sequence;
  TaskRecord& answer = result->record;
  answer.snapshot = std::move(submitted);
  answer.finished_at.reset();
  answer.last_event_sequence = first_count;
  return result;
}

absl::StatusOr<uint64_t> PgWriteProgress(PgConnection& connection,
                                         absl::string_view id,
                                         TaskProgress progress,
                                         const PgFence& fence,
                                         uint64_t max_events_per_task) {
  PgParams params;
  params.Text(id)
      .Bytes(progress.snapshot.SerializeAsString())
      .Int(progress.snapshot.status());
  if (progress.finished_at.has_value()) {
    params.Int(absl::ToUnixNanos(*progress.finished_at));
  } else {
    params.Null();
  }
  params.Int(static_cast<int64_t>(progress.events.size()))
      .Bool(EndsTheTask(progress.events))
      .Int(DueAt(progress.snapshot))
      .Text(fence.owner)
      .Int(static_cast<int64_t>(fence.epoch));
  absl::StatusOr<PgResult> updated = connection.Query(
      "UPDATE corosched_tasks SET snapshot = $2, status = $3, "
      "finished_at_ns = coalesce(finished_at_ns, $4::bigint), "
      "last_event_sequence = last_event_sequence + $5, "
      "ended = ended OR $6, due_at_ns = $7 "
      "WHERE key = $1 AND owner = $8 AND epoch = $9 "
      "RETURNING last_event_sequence",
      params);
  if (!updated.ok()) return updated.status();
  if (updated->rows() == 0) return Unfenced(connection, id);
  const uint64_t last = static_cast<uint64_t>(updated->Int(0, 0));
  absl::Status events = InsertEvents(
      connection, id, last - progress.events.size(), progress.events,
      fence.epoch, progress.snapshot.steps().polls());
  if (!events.ok()) return events;
  if (last > max_events_per_task) {
    PgParams drop;
    drop.Text(id).Int(static_cast<int64_t>(last - max_events_per_task));
    absl::StatusOr<PgResult> dropped = connection.Query(
        "DELETE FROM corosched_task_events "
        "WHERE task_key = $1 AND sequence <= $2",
        drop);
    if (!dropped.ok()) return dropped.status();
  }
  return last;
}

absl::Status PgWriteWakeSignal(PgConnection& connection, absl::string_view id,
                               absl::string_view request_id,
                               const WakeRecord& wake,
                               const v1::PendingSignal& signal,
                               const PgFence& fence) {
  // The snapshot as stored now (every write queued before this one
  // applied), locked until the batch commits. Fenced in the query itself: a
  // row another daemon owns is neither returned nor locked, so a stale
  // write never waits for that daemon's batch.
  PgParams key;
  key.Text(id).Text(fence.owner).Int(static_cast<int64_t>(fence.epoch));
  absl::StatusOr<PgResult> task = connection.Query(
      "SELECT snapshot FROM corosched_tasks WHERE key = $1 AND owner = $2 "
      "AND epoch = $3 FOR NO KEY UPDATE",
      key);
  if (!task.ok()) return task.status();
  if (task->rows() == 0) return Unfenced(connection, id);
  v1::TaskSnapshot snapshot;
  if (!snapshot.ParseFromArray(task->Bytes(0, 0).data(),
                               static_cast<int>(task->Bytes(0, 0).size()))) {
    return absl::DataLossError(absl::StrCat(
        "task ", QuoteInput(id), ": its stored snapshot cannot be parsed"));
  }
  AddPendingSignal(snapshot, signal);
  if (!request_id.empty()) {
    // The first answer stays: a repeated request id changes nothing here.
    PgParams answer;
    answer.Text(id)
        .Text(request_id)
        .Int(wake.disposition)
        .Int(static_cast<int64_t>(wake.sequence));
    absl::StatusOr<PgResult> kept = connection.Query(
        "INSERT INTO corosched_wakes (task_key, request_id, disposition, "
        "sequence) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        answer);
    if (!kept.ok()) return kept.status();
  }
  PgParams update;
  update.Text(id).Bytes(snapshot.SerializeAsString());
  return connection
      .Query("UPDATE corosched_tasks SET snapshot = $2 WHERE key = $1", update)
      .status();
}

absl::StatusOr<int> PgDeleteFinishedBefore(PgConnection& connection,
                                           absl::Time cutoff, int max_tasks) {
  PgParams params;
  params.Int(absl::ToUnixNanos(cutoff)).Int(max_tasks);
  absl::StatusOr<PgResult> deleted = connection.Query(
      "DELETE FROM corosched_tasks WHERE key IN (SELECT key FROM "
      "corosched_tasks WHERE finished_at_ns < $1 ORDER BY finished_at_ns "
      "LIMIT $2)",
      params);
  if (!deleted.ok()) return deleted.status();
  return static_cast<int>(deleted->affected());
}

absl::StatusOr<InboxReceipt> PgWriteInbox(PgConnection& connection,
                                          const InboxMessage& message) {
  PgParams key;
  key.Text(message.task_id);
  // Not locked: the owner's batch may hold the row, and waiting for it
  // (while the owner's batch waits for a row of ours) could deadlock. A
  // task that ends just after this check finds the message as its owner
  // ends it; the purge deletes it with the task.
  absl::StatusOr<PgResult> task = connection.Query(
      "SELECT t.status, t.finished_at_ns IS NOT NULL, d.id "
      "FROM corosched_tasks t LEFT JOIN corosched_daemons d "
      "ON d.id = t.owner AND d.lease_until > now() WHERE t.key = $1",
      key);
  if (!task.ok()) return task.status();
  if (task->rows() == 0) return PgTaskNotFound(message.task_id);
  if (task->Bool(0, 1)) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", QuoteInput(message.task_id), " has ended (",
                     StatusName(static_cast<v1::TaskStatus>(task->Int(0, 0))),
                     ") and takes no more signals"));
  }
  const std::string owner =
      task->IsNull(0, 2) ? "" : std::string(task->Bytes(0, 2));
  if (!message.request_id.empty()) {
    PgParams wake;
    wake.Text(message.task_id).Text(message.request_id);
    absl::StatusOr<PgResult> answered = connection.Query(
        "SELECT 1 FROM corosched_wakes WHERE task_key = $1 AND "
        "request_id = $2",
        wake);
    if (!answered.ok()) return answered.status();
    if (answered->rows() > 0) return InboxReceipt{0, true};
  }
  PgParams insert;
  insert.Text(message.task_id)
      .Int(message.kind == InboxMessage::Kind::kCancel ? 1 : 0)
      .Text(message.request_id)
      .Bytes(message.kind == InboxMessage::Kind::kCancel
                 ? message.reason
                 : message.signal.SerializeAsString());
  absl::StatusOr<PgResult> queued = connection.Query(
      "INSERT INTO corosched_inbox (task_key, kind, request_id, payload) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT (task_key, request_id) "
      "WHERE request_id <> '' DO NOTHING RETURNING id",
      insert);
  if (!queued.ok()) return queued.status();
  if (queued->rows() == 0) return InboxReceipt{0, true};
  const int64_t id = queued->Int(0, 0);
  if (!owner.empty()) {
    // Delivered when the batch commits, never before.
    PgParams notify;
    notify.Text(PgInboxChannel(owner)).Text(message.task_id);
    absl::StatusOr<PgResult> sent =
        connection.Query("SELECT pg_notify($1, $2)", notify);
    if (!sent.ok()) return sent.status();
  }
  return InboxReceipt{id, false};
}

absl::Status PgDeleteInbox(PgConnection& connection,
                           const std::vector<int64_t>& ids) {
  PgParams params;
  params.Text(ArrayLiteral(ids));
  return connection
      .Query("DELETE FROM corosched_inbox WHERE id = ANY($1::bigint[])", params)
      .status();
}

absl::Status PgReleaseTask(PgConnection& connection, absl::string_view id,
                           const PgFence& fence) {
  PgParams params;
  params.Text(id).Text(fence.owner).Int(static_cast<int64_t>(fence.epoch));
  return connection
      .Query(
          "UPDATE corosched_tasks SET owner = NULL "
          "WHERE key = $1 AND owner = $2 AND epoch = $3",
          params)
      .status();
}

}  // namespace corosched::server
