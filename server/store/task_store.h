#pragma once

// The store: what the daemon records and queries. Registered definitions,
// tasks with their latest snapshot, each task's event log (for WatchTask),
// wake request ids (for de-duplication) and the idempotency fingerprints of
// client-chosen task ids. Implemented by MemoryStore (--durability=none, and
// the reference the contract tests hold every store to) and SqliteStore
// (docs/durability.md).
//
// Every method returns copies: no implementation hands out pointers into its
// storage. Errors are canonical: NOT_FOUND for an unknown task or
// definition, ALREADY_EXISTS for a taken key with different contents,
// INVALID_ARGUMENT for a page token the store did not issue, and what the
// storage engine reports: UNAVAILABLE for every write once a durable store
// failed (docs/durability.md, "Failures"), DATA_LOSS for a row it cannot
// read.
//
// Two kinds of call:
//  - Writes have one form, ...Async: it hands the write over and returns,
//    and `done` (which may be null) is called once with the outcome: after
//    the write is stored (on disk, for a durable store, unless the method
//    says otherwise), or with why it was refused. `done` runs on a thread
//    of the store's (its writer) or, in a store that writes at once
//    (MemoryStore), on the caller's thread before the call returns.
//  - Reads return their result, read on the caller's thread; except the
//    two a gRPC handler needs before it can act, GetTaskAsync (GetTask's
//    twin) and FindWakeAsync, which answer `done` on a reader thread of
//    the store's, or at once on the caller's thread where reading costs
//    nothing.
// A `done` must not block, nor wait for another call of the store (it could
// be waiting for itself); it may read, and it may make more ...Async calls.
//
// Order: a task's writes are applied in the order they were issued (a
// caller that issues them from several threads orders them itself:
// TaskRunner holds the task's record lock). A read sees every write whose
// `done` was called before the read began.
//
// Thread-safety: every method from any thread. Each call is atomic on its
// own; a caller that needs a read-then-write to be atomic for one task
// (wake de-duplication) serializes it itself.

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
  // Only definitions in this namespace (namespace_keys.h); empty: all.
  std::string namespace_name;
  // Only this name's versions (its namespaced key); empty: every
  // definition.
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
  // Only tasks in this namespace (namespace_keys.h); empty: all.
  std::string namespace_name;
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
  // store syncs it to disk like a submit, instead of batching it unsynced,
  // and never joins it to unsynced progress queued before it.
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
// implementations of RecordWakeSignalAsync.
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
  // How a call answers: once, with its result.
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>)>;
  using StatusDone = absl::AnyInvocable<void(absl::Status)>;

  virtual ~TaskStore() = default;

  // --- Definitions, keyed by (name, version) ---

  // Registers `definition` at `now`. The same definition again is answered
  // with the first registration (created = false); a different one under
  // the same key is ALREADY_EXISTS. Durable before `done`.
  virtual void PutDefinitionAsync(v1::TaskDefinition definition, absl::Time now,
                                  Done<PutDefinitionResult> done) = 0;
  // `version` empty: the most recently registered version of `name`.
  // NOT_FOUND when none is registered.
  virtual absl::StatusOr<DefinitionRecord> GetDefinition(
      absl::string_view name, absl::string_view version) = 0;
  // INVALID_ARGUMENT for a page token this store did not issue.
  virtual absl::StatusOr<DefinitionPage> ListDefinitions(
      const DefinitionQuery& query) = 0;

  // --- Tasks ---

  // Creates the task with its first events (sequence numbers from 1).
  // Durable before `done`. When `record.id` is taken: the existing task,
  // whole, if its fingerprint equals `record.request_fingerprint` (created
  // = false; nothing is written), else ALREADY_EXISTS. For a new task
  // (created = true) the answer's `record` may hold only the id and
  // last_event_sequence: the caller has the rest.
  //
  // A record without a fingerprint (a daemon-chosen id) is the caller's
  // promise that no other task holds the id: the store may then write
  // progress of the task queued before the create is stored in the same
  // write, and refuses that progress if it refuses the create.
  virtual void CreateTaskAsync(TaskRecord record,
                               std::vector<v1::TaskEvent> first_events,
                               Done<CreateTaskResult> done) = 0;
  // NOT_FOUND for an unknown task.
  virtual absl::StatusOr<TaskRecord> GetTask(absl::string_view id) = 0;
  // GetTask for a caller that must not wait for the storage engine (a gRPC
  // handler): answers `done` on the store's own thread, or at once on the
  // caller's where reading costs nothing (MemoryStore).
  virtual void GetTaskAsync(std::string id, Done<TaskRecord> done) = 0;
  // Newest first. INVALID_ARGUMENT for a page token this store did not
  // issue.
  virtual absl::StatusOr<TaskPage> ListTasks(const TaskQuery& query) = 0;
  // Records a poll's outcome (or the task's end); answers with the task's
  // new last_event_sequence, or NOT_FOUND for an unknown task. Unless
  // progress.durable, a durable store may batch the write
  // without an fsync of its own: a crash may lose it, and the task then
  // repeats the state it recorded (at-least-once per state;
  // docs/durability.md). Progress of one task queued before a commit may
  // be joined into one write (ProgressJoiner); each `done` is answered.
  virtual void RecordProgressAsync(std::string id, TaskProgress progress,
                                   Done<uint64_t> done) = 0;
  // Up to `max_events` events with sequence > `after_sequence` (from the
  // first one kept, when older ones were dropped). NOT_FOUND for an
  // unknown task.
  virtual absl::StatusOr<EventBatch> ReadEvents(absl::string_view id,
                                                uint64_t after_sequence,
                                                int max_events) = 0;
  // Tasks by status, unfinished and retained finished ones alike.
  virtual absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
  CountTasksByStatus() = 0;

  // --- Wakes ---

  // The first answer to `request_id` for task `id`, if any; NOT_FOUND for
  // an unknown task. Answers as GetTaskAsync does. A wake whose `done` was
  // called is found by every FindWakeAsync called after that.
  virtual void FindWakeAsync(std::string id, std::string request_id,
                             Done<std::optional<WakeRecord>> done) = 0;
  // Records an accepted wake: `signal` is added to the mailbox of the
  // task's snapshot as stored when this write is applied (unless that
  // snapshot's signal_sequence shows it has it already), and, when
  // `request_id` is not empty, `wake` is kept as the answer to replay (the
  // first answer stays). The task's status is unchanged. Durable before
  // `done`; NOT_FOUND for an unknown task.
  //
  // Why the signal and not the task's snapshot: the stored snapshot never
  // runs ahead of the progress recorded before it. A poll that took the
  // signal records its own progress after this write, and a crash between
  // the two resumes the task before that poll, with the signal to take.
  virtual void RecordWakeSignalAsync(std::string id, std::string request_id,
                                     WakeRecord wake, v1::PendingSignal signal,
                                     StatusDone done) = 0;

  // --- Recovery ---

  // Calls `visit` with every unfinished task (finished_at unset), oldest
  // first, with its latest snapshot. Stops at, and returns, the first error
  // of `visit`. A store that keeps nothing across restarts has none.
  // `page_size`: tasks read per read transaction (a store may ignore it).
  virtual absl::Status ForEachUnfinishedTask(
      absl::FunctionRef<absl::Status(TaskRecord)> visit, int page_size) = 0;
};

}  // namespace corosched::server
