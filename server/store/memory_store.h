#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "server/store/task_store.h"

namespace corosched::server {

struct MemoryStoreOptions {
  // Finished tasks kept (with their events and wake ids); past this the
  // oldest-finished are forgotten, and then are NOT_FOUND like any unknown
  // id. Unfinished tasks are always kept.
  size_t retain_finished = 10000;
  // Events kept per task, at least: once a task's log holds a quarter more,
  // its oldest are dropped down to this many (ReadEvents then starts at the
  // first kept one).
  uint64_t max_events_per_task = 10000;
};

// TaskStore in process memory: everything is lost when the process exits.
// The daemon's store with --durability=none (tests, benchmarks); also the
// reference the store tests hold other implementations to.
//
// Thread-safety: every method may be called from any thread. The tasks are
// split in shards by id, each with its own mutex; a second mutex guards the
// order of all tasks (listing, retention) and the definitions. Each is held
// only for map operations and copies. A listing or a count is exact for
// every task written before it began; writes that race with it may or may
// not be in it.
class MemoryStore final : public TaskStore {
 public:
  explicit MemoryStore(MemoryStoreOptions options = {}) : options_(options) {}

  // --- TaskStore: every write is made, and `done` called, before the call
  // returns; so are the ...Async reads ---
  void PutDefinitionAsync(v1::TaskDefinition definition, absl::Time now,
                          Done<PutDefinitionResult> done) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<DefinitionRecord> GetDefinition(
      absl::string_view name, absl::string_view version) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<DefinitionPage> ListDefinitions(
      const DefinitionQuery& query) override ABSL_LOCKS_EXCLUDED(mu_);

  void CreateTaskAsync(TaskRecord record,
                       std::vector<v1::TaskEvent> first_events,
                       Done<CreateTaskResult> done) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<TaskRecord> GetTask(absl::string_view id) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void GetTaskAsync(std::string id, Done<TaskRecord> done) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<TaskPage> ListTasks(const TaskQuery& query) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void RecordProgressAsync(std::string id, TaskProgress progress,
                           Done<uint64_t> done) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<EventBatch> ReadEvents(absl::string_view id,
                                        uint64_t after_sequence,
                                        int max_events) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatusIn(
      absl::string_view namespace_name) override;
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatus()
      override ABSL_LOCKS_EXCLUDED(mu_);

  void FindWakeAsync(std::string id, std::string request_id,
                     Done<std::optional<WakeRecord>> done) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void RecordWakeSignalAsync(std::string id, std::string request_id,
                             WakeRecord wake, v1::PendingSignal signal,
                             StatusDone done) override ABSL_LOCKS_EXCLUDED(mu_);

  // The unfinished tasks this process recorded (a new MemoryStore has
  // none), copied under the lock and visited outside it.
  absl::Status ForEachUnfinishedTask(
      absl::FunctionRef<absl::Status(TaskRecord)> visit, int page_size) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct StoredTask {
    TaskRecord record;
    uint64_t position = 0;  // insertion number, for newest-first listing
    // The event log as wire bytes (v1.TaskEvent, sequence included), back
    // to back: event i (sequence dropped_events + i + 1) ends at
    // event_ends[i]. Bytes, not
    // messages: a message is several heap blocks, and a forgotten task's
    // would be freed long after they were made, cache-cold, on the hot
    // path; bytes are one block, and a watcher parses only what it reads.
    std::string event_log;
    std::vector<uint64_t> event_ends;
    // Events dropped from the front of the log (max_events_per_task).
    uint64_t dropped_events = 0;
    bool ended = false;  // the last event is the `finished` one
    absl::flat_hash_map<std::string, WakeRecord> wakes;  // by request id
  };
  // A write's events, encoded before the lock is taken: each event's wire
  // bytes without its sequence number, which AppendEvents puts in front.
  struct EncodedEvents {
    std::string bytes;
    std::vector<size_t> sizes;
    bool ends_task = false;
  };
  static EncodedEvents Encode(std::vector<v1::TaskEvent>& events);
  struct StoredDefinition {
    DefinitionRecord record;
    uint64_t position = 0;
  };
  using DefinitionKey = std::pair<std::string, std::string>;

  using TaskMap = absl::flat_hash_map<std::string, StoredTask>;
  // One part of the tasks, by a hash of the id, with its own mutex, so
  // that the submitting threads (creates) and the workers (progress) rarely
  // wait for each other: with one mutex for all, waking its waiters was a
  // tenth of the in-memory daemon's CPU (docs/PERFORMANCE.md, "The service").
  struct alignas(64) Shard {  // a cache line of its own for the mutex
    absl::Mutex mu;
    TaskMap tasks ABSL_GUARDED_BY(mu);
    // This shard's tasks by status; CountTasksByStatus sums the shards.
    std::map<v1::TaskStatus, uint64_t> status_counts ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;

  Shard& ShardOf(absl::string_view id);
  // The writes' and reads' work, answered by the public methods.
  absl::StatusOr<PutDefinitionResult> PutDefinition(
      const v1::TaskDefinition& definition, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A new task's answer holds only its id and last_event_sequence (see
  // TaskStore::CreateTaskAsync).
  absl::StatusOr<CreateTaskResult> CreateTask(
      TaskRecord record, std::vector<v1::TaskEvent> first_events)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<uint64_t> RecordProgress(absl::string_view id,
                                          TaskProgress progress)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::optional<WakeRecord>> FindWake(
      absl::string_view id, absl::string_view request_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RecordWakeSignal(absl::string_view id,
                                absl::string_view request_id,
                                const WakeRecord& wake,
                                const v1::PendingSignal& signal)
      ABSL_LOCKS_EXCLUDED(mu_);
  static StoredTask* FindTask(Shard& shard, absl::string_view id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Replaces the task's snapshot, keeping the shard's status counts right.
  // The old one is swapped into `snapshot`, for the caller to free once it
  // released the shard's mutex.
  static void SetSnapshot(Shard& shard, StoredTask& task,
                          v1::TaskSnapshot& snapshot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Appends `events`, numbering them after the task's last one, and drops
  // the oldest past max_events_per_task.
  // REQUIRES: the task's shard's mutex is held.
  void AppendEvents(StoredTask& task, const EncodedEvents& events) const;
  // The task at `position` finished: forgets the oldest finished tasks past
  // options_.retain_finished (possibly this one) and returns them, for the
  // caller to destroy once it holds no lock.
  std::vector<TaskMap::node_type> Retire(uint64_t position)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Up to `count` (position, id) pairs of tasks, newest first, from
  // `start` (a position, inclusive) down.
  std::vector<std::pair<uint64_t, std::string>> PositionsFrom(uint64_t start,
                                                              size_t count)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A copy of the task at `position` with id `id` if it is still stored
  // and `keep` accepts it.
  std::optional<TaskRecord> CopyIf(
      uint64_t position, const std::string& id,
      absl::FunctionRef<bool(const StoredTask&)> keep);
  static bool Matches(const StoredTask& task, const TaskQuery& query);

  const MemoryStoreOptions options_;
  std::array<Shard, kShards> shards_;

  // Lock order: a shard's mutex, then mu_; never two shards' at once.
  absl::Mutex mu_;
  uint64_t next_position_ ABSL_GUARDED_BY(mu_) = 1;

  std::map<DefinitionKey, StoredDefinition> definitions_ ABSL_GUARDED_BY(mu_);
  // Newest first.
  std::map<uint64_t, DefinitionKey, std::greater<>> definitions_by_position_
      ABSL_GUARDED_BY(mu_);
  // Name -> the version registered last.
  absl::flat_hash_map<std::string, std::string> latest_version_
      ABSL_GUARDED_BY(mu_);

  // Every stored task's position and id, newest first. A task enters it
  // while its shard's mutex is held (so a reader that finds it here and
  // then locks the shard finds the task), and leaves it before its shard
  // forgets it.
  absl::btree_map<uint64_t, std::string, std::greater<>> tasks_by_position_
      ABSL_GUARDED_BY(mu_);
  // Positions of finished tasks, in the order they finished.
  std::deque<uint64_t> finished_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
