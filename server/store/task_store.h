#pragma once

// What the daemon records and queries: registered definitions, tasks with
// their latest snapshot, each task's event log (for WatchTask), wake
// request ids (for de-duplication) and the idempotency fingerprints of
// client-chosen task ids.
//
// Every method returns copies: no implementation hands out pointers into its
// storage, so an SQL-backed store can implement the same interface. Errors
// are canonical: NOT_FOUND for an unknown task or definition, ALREADY_EXISTS
// for a taken key with different contents, INVALID_ARGUMENT for a page token
// the store did not issue, and whatever the storage engine reports
// (UNAVAILABLE, DATA_LOSS, ...).
//
// Synchronous and asynchronous writes: the synchronous methods return once
// the write is stored (for a durable store: on disk). The ...Async forms
// return at once and call `done` when it is; the base class runs them
// synchronously, on the caller's thread, before returning (MemoryStore),
// and a durable store overrides them to queue the write for group commit
// and call `done` from its writer thread. Either way, writes a thread
// issues reach the store in the order issued, and `done` must not block.
// The daemon uses only the asynchronous forms on request and poll paths.
//
// Thread-safety: implementations are safe to call from any thread. Each
// method is atomic on its own; callers that need a read-then-write to be
// atomic for one task (wake de-duplication) serialize it themselves.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.pb.h"
#include "corosched/v1/task_definition.pb.h"
#include "corosched/v1/task_state.pb.h"
#include "google/protobuf/map.h"

namespace corosched::server {

struct DefinitionRecord {
  v1::TaskDefinition definition;
  absl::Time registered_at;
};

struct PutDefinitionResult {
  DefinitionRecord record;
  // False when this exact definition was registered before.
  bool created = false;
};

struct DefinitionQuery {
  // Only this name's versions; empty: every definition.
  std::string name;
  // REQUIRES: > 0. Callers apply the API's default and maximum.
  int page_size = 50;
  std::string page_token;
};

struct DefinitionPage {
  // Newest registration first.
  std::vector<DefinitionRecord> definitions;
  // Empty on the last page.
  std::string next_page_token;
};

// A task's definition, shared: the tasks of one definition point at the same
// immutable message (usually the compiled Program's), so a TaskRecord copies
// without copying its definition. Reads as a `const v1::TaskDefinition&`;
// an empty one reads as the default (empty) definition.
class SharedDefinition {
 public:
  SharedDefinition() = default;
  // REQUIRES: `definition` is never modified while shared.
  SharedDefinition(std::shared_ptr<const v1::TaskDefinition> definition)
      : definition_(std::move(definition)) {}
  // Takes a definition of its own (tests, and records read from disk).
  SharedDefinition(v1::TaskDefinition definition)
      : definition_(
            std::make_shared<const v1::TaskDefinition>(std::move(definition))) {
  }

  const v1::TaskDefinition& operator*() const {
    return definition_ != nullptr ? *definition_
                                  : v1::TaskDefinition::default_instance();
  }
  const v1::TaskDefinition* operator->() const { return &**this; }
  // The shared message itself (null when empty).
  const std::shared_ptr<const v1::TaskDefinition>& shared() const {
    return definition_;
  }

 private:
  std::shared_ptr<const v1::TaskDefinition> definition_;
};

// A task as stored. `snapshot` is the runtime state as of the last poll or
// wake; the rest is fixed at submission, except `finished_at` and
// `last_event_sequence`.
struct TaskRecord {
  std::string id;
  // Identifies the submit request that created the task, so that the same
  // task id with the same request can be recognised (empty when the daemon
  // chose the id). Stable across restarts.
  std::string request_fingerprint;
  // The definition the task runs (inline or resolved from the registry), so
  // the task can be restored after a restart.
  SharedDefinition definition;
  google::protobuf::Map<std::string, v1::Value> inputs;
  std::map<std::string, std::string> labels;
  absl::Time created_at;
  std::optional<absl::Time> start_at;
  std::optional<absl::Time> finished_at;
  v1::TaskSnapshot snapshot;
  uint64_t last_event_sequence = 0;
};

struct CreateTaskResult {
  TaskRecord record;
  // False when the id was taken by a task with the same fingerprint; the
  // existing task is returned and nothing is written.
  bool created = false;
};

struct TaskQuery {
  // TASK_STATUS_UNSPECIFIED: any.
  v1::TaskStatus status = v1::TASK_STATUS_UNSPECIFIED;
  // Empty: any.
  std::string definition_name;
  // Tasks carrying every one of these labels.
  std::map<std::string, std::string> labels;
  // REQUIRES: > 0. Callers apply the API's default and maximum.
  int page_size = 50;
  std::string page_token;
};

struct TaskPage {
  // Newest first (by submission order).
  std::vector<TaskRecord> tasks;
  // Empty on the last page.
  std::string next_page_token;
};

// What one poll (or the task's end) changed.
struct TaskProgress {
  v1::TaskSnapshot snapshot;
  // New events; the store assigns their sequence numbers, continuing from
  // the task's last_event_sequence.
  std::vector<v1::TaskEvent> events;
  // Set once, when the task ended.
  std::optional<absl::Time> finished_at;
  // A client is answered once this write is stored (a cancel): a durable
  // store syncs it to disk like a submit, instead of batching it unsynced.
  bool durable = false;
};

struct EventBatch {
  // Consecutive events, oldest first.
  std::vector<v1::TaskEvent> events;
  // The task's latest sequence number, and whether its final event (the
  // `finished` one) has been recorded.
  uint64_t last_sequence = 0;
  bool task_ended = false;
};

// `signal` added to `snapshot`'s mailbox, unless the snapshot's
// signal_sequence shows it has it already (then unchanged). For
// RecordWakeSignal implementations.
void AddPendingSignal(v1::TaskSnapshot& snapshot,
                      const v1::PendingSignal& signal);

// The first answer to a wake request id, replayed for repeats.
struct WakeRecord {
  v1::WakeTaskResponse::Disposition disposition =
      v1::WakeTaskResponse::DISPOSITION_UNSPECIFIED;
  uint64_t sequence = 0;
};

class TaskStore {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>)>;

  virtual ~TaskStore() = default;

  // --- Definitions, keyed by (name, version) ---

  // Registers `definition` at `now`. The same definition again returns the
  // first registration (created = false); a different one under the same
  // key is ALREADY_EXISTS.
  virtual absl::StatusOr<PutDefinitionResult> PutDefinition(
      const v1::TaskDefinition& definition, absl::Time now) = 0;
  // `version` empty: the most recently registered version of `name`.
  virtual absl::StatusOr<DefinitionRecord> GetDefinition(
      absl::string_view name, absl::string_view version) = 0;
  virtual absl::StatusOr<DefinitionPage> ListDefinitions(
      const DefinitionQuery& query) = 0;

  // --- Tasks ---

  // Creates the task with its first events (sequence numbers from 1). When
  // `record.id` is taken: the existing task if its fingerprint equals
  // `record.request_fingerprint` (created = false), else ALREADY_EXISTS.
  virtual absl::StatusOr<CreateTaskResult> CreateTask(
      const TaskRecord& record, std::vector<v1::TaskEvent> first_events) = 0;
  virtual absl::StatusOr<TaskRecord> GetTask(absl::string_view id) = 0;
  virtual absl::StatusOr<TaskPage> ListTasks(const TaskQuery& query) = 0;
  // Records a poll's outcome; returns the task's new last_event_sequence.
  virtual absl::StatusOr<uint64_t> RecordProgress(absl::string_view id,
                                                  TaskProgress progress) = 0;
  // Up to `max_events` events with sequence > `after_sequence`.
  virtual absl::StatusOr<EventBatch> ReadEvents(absl::string_view id,
                                                uint64_t after_sequence,
                                                int max_events) = 0;
  // Tasks by status, unfinished and retained finished ones alike.
  virtual absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
  CountTasksByStatus() = 0;

  // --- Wakes ---

  // The first answer to `request_id` for task `id`, if any. NOT_FOUND when
  // the task is unknown.
  virtual absl::StatusOr<std::optional<WakeRecord>> FindWake(
      absl::string_view id, absl::string_view request_id) = 0;
  // Records an accepted wake: the task's snapshot with the signal in its
  // mailbox and, when `request_id` is not empty, the answer to replay.
  virtual absl::Status RecordWake(absl::string_view id,
                                  absl::string_view request_id,
                                  const WakeRecord& wake,
                                  const v1::TaskSnapshot& snapshot) = 0;

  // Records an accepted wake as RecordWake does, but instead of a snapshot
  // of the task it adds `signal` to the mailbox of the task's snapshot as
  // stored when this write is applied (unless that snapshot's
  // signal_sequence shows it already has it). So the stored snapshot never
  // runs ahead of the progress recorded before it: a poll that took the
  // signal records its own progress after this write, and a crash between
  // the two resumes the task before that poll, with the signal to take.
  virtual absl::Status RecordWakeSignal(absl::string_view id,
                                        absl::string_view request_id,
                                        const WakeRecord& wake,
                                        const v1::PendingSignal& signal) = 0;
  // The ...Async writes take their arguments by value for the stores that
  // queue them (and move them into the queued write); these defaults, which
  // answer at once from the synchronous form, only read some of them.
  // NOLINTBEGIN(performance-unnecessary-value-param)
  virtual void RecordWakeSignalAsync(
      std::string id, std::string request_id, WakeRecord wake,
      v1::PendingSignal signal, absl::AnyInvocable<void(absl::Status)> done) {
    done(RecordWakeSignal(id, request_id, wake, signal));
  }

  // --- Asynchronous writes: the same meaning as the synchronous ones ---

  virtual void PutDefinitionAsync(v1::TaskDefinition definition, absl::Time now,
                                  Done<PutDefinitionResult> done) {
    done(PutDefinition(definition, now));
  }
  // For a new task (created = true) the answer's `record` may hold only
  // the id and last_event_sequence: the caller has the rest (the in-memory
  // store keeps the record and copies nothing back). For a taken id it is
  // the existing task, whole, as with CreateTask.
  virtual void CreateTaskAsync(TaskRecord record,
                               std::vector<v1::TaskEvent> first_events,
                               Done<CreateTaskResult> done) {
    done(CreateTask(record, std::move(first_events)));
  }
  virtual void RecordWakeAsync(std::string id, std::string request_id,
                               WakeRecord wake, v1::TaskSnapshot snapshot,
                               absl::AnyInvocable<void(absl::Status)> done) {
    done(RecordWake(id, request_id, wake, snapshot));
  }
  // `done` may be null. Unless progress.durable, a durable store may batch
  // this write without its own fsync: a crash may lose it, and the task then
  // repeats the state it recorded (at-least-once per state;
  // docs/durability.md).
  virtual void RecordProgressAsync(std::string id, TaskProgress progress,
                                   Done<uint64_t> done) {
    absl::StatusOr<uint64_t> written = RecordProgress(id, std::move(progress));
    if (done) done(std::move(written));
  }
  // NOLINTEND(performance-unnecessary-value-param)

  // --- Recovery ---

  // Calls `visit` with every unfinished task (finished_at unset), oldest
  // first, with its latest snapshot. Stops at, and returns, the first error
  // of `visit`. A store that keeps nothing across restarts has none.
  // `page_size`: tasks read per read transaction (a store may ignore it).
  virtual absl::Status ForEachUnfinishedTask(
      absl::FunctionRef<absl::Status(TaskRecord)> visit, int page_size) = 0;
};

}  // namespace corosched::server
