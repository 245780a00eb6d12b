#pragma once

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
#include "absl/synchronization/mutex.h"
#include "server/store/task_store.h"

namespace corosched::server {

struct MemoryStoreOptions {
  // Finished tasks kept (with their events and wake ids); past this the
  // oldest-finished are forgotten, and then are NOT_FOUND like any unknown
  // id. Unfinished tasks are always kept.
  size_t retain_finished = 10000;
};

// TaskStore in process memory: everything is lost when the process exits.
// The daemon's store until the durable one lands; also the reference the
// store tests hold other implementations to.
//
// Thread-safety: every method may be called from any thread; one mutex
// guards everything, held only for map operations and copies.
class MemoryStore final : public TaskStore {
 public:
  explicit MemoryStore(MemoryStoreOptions options = {}) : options_(options) {}

  absl::StatusOr<PutDefinitionResult> PutDefinition(
      const v1::TaskDefinition& definition, absl::Time now) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<DefinitionRecord> GetDefinition(
      absl::string_view name, absl::string_view version) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<DefinitionPage> ListDefinitions(
      const DefinitionQuery& query) override ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<CreateTaskResult> CreateTask(
      const TaskRecord& record,
      std::vector<v1::TaskEvent> first_events) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void CreateTaskAsync(TaskRecord record,
                       std::vector<v1::TaskEvent> first_events,
                       Done<CreateTaskResult> done) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<TaskRecord> GetTask(absl::string_view id) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<TaskPage> ListTasks(const TaskQuery& query) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<uint64_t> RecordProgress(absl::string_view id,
                                          TaskProgress progress) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<EventBatch> ReadEvents(absl::string_view id,
                                        uint64_t after_sequence,
                                        int max_events) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatus()
      override ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<std::optional<WakeRecord>> FindWake(
      absl::string_view id, absl::string_view request_id) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RecordWake(absl::string_view id, absl::string_view request_id,
                          const WakeRecord& wake,
                          const v1::TaskSnapshot& snapshot) override
      ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status RecordWakeSignal(absl::string_view id,
                                absl::string_view request_id,
                                const WakeRecord& wake,
                                const v1::PendingSignal& signal) override
      ABSL_LOCKS_EXCLUDED(mu_);

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
    // to back: event i (sequence i + 1) ends at event_ends[i]. Bytes, not
    // messages: a message is several heap blocks, and a forgotten task's
    // would be freed long after they were made, cache-cold, on the hot
    // path; bytes are one block, and a watcher parses only what it reads.
    std::string event_log;
    std::vector<uint64_t> event_ends;
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

  // CreateTask's work, with the record moved in. A new task's answer is a
  // copy of the record when `whole_answer`, else only its id and
  // last_event_sequence (see TaskStore::CreateTaskAsync).
  absl::StatusOr<CreateTaskResult> Create(
      TaskRecord record, std::vector<v1::TaskEvent> first_events,
      bool whole_answer) ABSL_LOCKS_EXCLUDED(mu_);
  StoredTask* FindTask(absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replaces the task's snapshot, keeping the status counts right.
  // The old one is swapped into `snapshot`, for the caller to free once it
  // released mu_.
  void SetSnapshot(StoredTask& task, v1::TaskSnapshot& snapshot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `events`, numbering them after the task's last one.
  void AppendEvents(StoredTask& task, const EncodedEvents& events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  using TaskMap = absl::flat_hash_map<std::string, StoredTask>;
  // Forgets the oldest finished tasks past options_.retain_finished; the
  // caller destroys them once it released mu_.
  std::vector<TaskMap::node_type> EvictFinished()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static bool Matches(const StoredTask& task, const TaskQuery& query);

  const MemoryStoreOptions options_;
  absl::Mutex mu_;
  uint64_t next_position_ ABSL_GUARDED_BY(mu_) = 1;

  std::map<DefinitionKey, StoredDefinition> definitions_ ABSL_GUARDED_BY(mu_);
  // Newest first.
  std::map<uint64_t, DefinitionKey, std::greater<>> definitions_by_position_
      ABSL_GUARDED_BY(mu_);
  // Name -> the version registered last.
  absl::flat_hash_map<std::string, std::string> latest_version_
      ABSL_GUARDED_BY(mu_);

  TaskMap tasks_ ABSL_GUARDED_BY(mu_);
  // Newest first.
  absl::btree_map<uint64_t, std::string, std::greater<>> tasks_by_position_
      ABSL_GUARDED_BY(mu_);
  // Positions of finished tasks, in the order they finished.
  std::deque<uint64_t> finished_order_ ABSL_GUARDED_BY(mu_);
  std::map<v1::TaskStatus, uint64_t> status_counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
