#pragma once

// How a TaskRecord maps to a row of the `tasks` table (see
// sqlite_schema.cc) and back. Shared by the queries and the writes, which
// must agree on every column.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "server/store/sqlite_connection.h"
#include "server/store/task_store.h"

namespace corosched::server {

// Times are stored as nanoseconds since the Unix epoch.
int64_t ToStoredTime(absl::Time time);
absl::Time FromStoredTime(int64_t nanos);

// The task's inputs and labels as one v1.SubmitTaskRequest (fields 3 and 4
// only), serialized deterministically.
std::string EncodeInputsAndLabels(const TaskRecord& record);

// Parses a stored message; false when the bytes are not one.
bool ParseStored(absl::string_view bytes,
                 google::protobuf::MessageLite& message);

// Rows of the `events` table. A row's `encoding` says what its `event`
// column holds: kSingleEvent, one v1.TaskEvent (the rows schema versions 1
// and 2 wrote), or kEventRun, the events one write appended, in order,
// encoded as the field `repeated v1.TaskEvent events = 1` would be. Its
// `sequence` is that of its last event.
inline constexpr int kSingleEvent = 0;
inline constexpr int kEventRun = 1;
std::string EncodeEventRun(const std::vector<v1::TaskEvent>& events);
// Appends the row's events to `out`; false when the bytes do not parse.
bool DecodeEventRow(int encoding, absl::string_view bytes,
                    std::vector<v1::TaskEvent>& out);

// FNV-1a of a serialized definition, to find an identical stored one.
int64_t DefinitionDigest(absl::string_view bytes);

// The select list every task read uses, from `tasks t JOIN task_definitions
// d`; ReadTaskRow reads it back. Column 0 is the task's position.
inline constexpr absl::string_view kTaskColumns =
    "t.position, t.id, t.request_fingerprint, d.definition, "
    "t.inputs_and_labels, t.created_at_ns, t.start_at_ns, t.finished_at_ns, "
    "t.snapshot, t.last_event_sequence, t.definition_id";
inline constexpr absl::string_view kTaskTables =
    "tasks t JOIN task_definitions d ON d.id = t.definition_id";

// Definitions already parsed during one read of many tasks, by their
// task_definitions id, so the tasks of one definition share one message.
using ParsedDefinitions = absl::flat_hash_map<int64_t, SharedDefinition>;

// The record in the current row of a statement selecting kTaskColumns.
// DATA_LOSS naming the task when a stored message does not parse. With
// `parsed`, a definition read before is shared, not parsed again.
absl::StatusOr<TaskRecord> ReadTaskRow(const SqliteStatement& row,
                                       ParsedDefinitions* parsed = nullptr);

}  // namespace corosched::server
