#pragma once

// For tests: several daemons sharing one store, in process memory. A
// FakeClusterDatabase is the shared database (a MemoryStore for the tasks,
// plus the rows cluster_store.h describes: daemons with their lease, each
// task's owner and epoch, the inboxes), on a clock the test moves; each
// daemon's FakeClusterStore is its connection to it, a TaskStore and a
// ClusterStore held to the contract in cluster_store.h (fenced writes,
// claims, inbox, notifications):
//
//   ManualClock clock;
//   FakeClusterDatabase database(clock);
//   FakeClusterStore a(database), b(database);
//   ASSERT_TRUE(a.Join(absl::Seconds(30)).ok());
//   database.SetReachable(false);  // every cluster call: UNAVAILABLE
//
// Like MemoryStore, it answers every ...Async call on the caller's thread
// before returning; on_inbox and on_lease_lost are called on the caller's
// thread too, outside every lock of the fake's.
//
// Thread-safety: every method from any thread.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/time/clock.h"
#include "server/store/cluster_store.h"
#include "server/store/memory_store.h"

namespace corosched::server {

class FakeClusterStore;

class FakeClusterDatabase {
 public:
  explicit FakeClusterDatabase(const Clock& clock) : clock_(clock) {}
  FakeClusterDatabase(const FakeClusterDatabase&) = delete;
  FakeClusterDatabase& operator=(const FakeClusterDatabase&) = delete;

  // While false, every ClusterStore call and every fenced write answers
  // UNAVAILABLE (the database is down or cut off), as do the inbox's.
  void SetReachable(bool reachable) ABSL_LOCKS_EXCLUDED(mu_);
  // The daemon lease of `daemon_id` as the database holds it (nullopt: no
  // such row).
  std::optional<absl::Time> LeaseUntil(const std::string& daemon_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Task `id`'s row: its owner (empty: none) and epoch.
  std::pair<std::string, uint64_t> OwnerRow(const std::string& id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Messages queued, in every inbox.
  size_t InboxSize() ABSL_LOCKS_EXCLUDED(mu_);

  MemoryStore& tasks() { return tasks_; }

 private:
  friend class FakeClusterStore;

  struct TaskRow {
    std::string owner;
    uint64_t epoch = 0;
  };

  bool LeaseCurrent(const std::string& daemon_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  MemoryStore tasks_;
  absl::Mutex mu_;
  bool reachable_ ABSL_GUARDED_BY(mu_) = true;
  uint64_t next_daemon_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, absl::Time> daemons_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, TaskRow> rows_ ABSL_GUARDED_BY(mu_);
  int64_t next_message_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, InboxMessage> inbox_ ABSL_GUARDED_BY(mu_);
  // (task, request id) of every wake queued, for duplicates.
  std::set<std::pair<std::string, std::string>> queued_wakes_
      ABSL_GUARDED_BY(mu_);
  // Connections by daemon id, to notify owners.
  std::map<std::string, FakeClusterStore*> members_ ABSL_GUARDED_BY(mu_);
};

class FakeClusterStore final : public TaskStore, public ClusterStore {
 public:
  explicit FakeClusterStore(FakeClusterDatabase& database)
      : database_(database), tasks_(database.tasks_) {}
  ~FakeClusterStore() override ABSL_LOCKS_EXCLUDED(mu_);
  FakeClusterStore(const FakeClusterStore&) = delete;
  FakeClusterStore& operator=(const FakeClusterStore&) = delete;

  // Wakes queued from now on are not notified (a lost notification).
  void DropNotifications(bool drop) ABSL_LOCKS_EXCLUDED(mu_);
  // The next `count` DeleteInboxAsync calls fail UNAVAILABLE (a delete lost
  // with the connection), leaving their messages queued.
  void FailInboxDeletes(int count) ABSL_LOCKS_EXCLUDED(mu_);

  // --- TaskStore: MemoryStore's, with the writes of a task fenced ---
  void PutDefinitionAsync(v1::TaskDefinition definition, absl::Time now,
                          Done<PutDefinitionResult> done) override;
  absl::StatusOr<DefinitionRecord> GetDefinition(
      absl::string_view name, absl::string_view version) override;
  absl::StatusOr<DefinitionPage> ListDefinitions(
      const DefinitionQuery& query) override;
  void CreateTaskAsync(TaskRecord record,
                       std::vector<v1::TaskEvent> first_events,
                       Done<CreateTaskResult> done) override;
  absl::StatusOr<TaskRecord> GetTask(absl::string_view id) override;
  void GetTaskAsync(std::string id, Done<TaskRecord> done) override;
  absl::StatusOr<TaskPage> ListTasks(const TaskQuery& query) override;
  void RecordProgressAsync(std::string id, TaskProgress progress,
                           Done<uint64_t> done) override;
  absl::StatusOr<EventBatch> ReadEvents(absl::string_view id,
                                        uint64_t after_sequence,
                                        int max_events) override;
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatus()
      override;
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatusIn(
      absl::string_view namespace_name) override;
  void FindWakeAsync(std::string id, std::string request_id,
                     Done<std::optional<WakeRecord>> done) override;
  void RecordWakeSignalAsync(std::string id, std::string request_id,
                             WakeRecord wake, v1::PendingSignal signal,
                             StatusDone done) override;
  // The unfinished tasks this daemon owns (recovery claims the rest).
  absl::Status ForEachUnfinishedTask(
      absl::FunctionRef<absl::Status(TaskRecord)> visit,
      int page_size) override;

  // --- ClusterStore ---
  void SetClusterCallbacks(ClusterCallbacks callbacks) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Join(absl::Duration lease) override ABSL_LOCKS_EXCLUDED(mu_);
  std::string daemon_id() const override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RenewDaemonLease(absl::Duration lease) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<ClaimedTask>> ClaimTasks(int max_tasks) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status ReleaseTasks(const std::vector<std::string>& task_ids) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Leave() override ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t OwnedEpoch(absl::string_view task_id) const override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::string> OwnerOf(absl::string_view task_id) override;
  void EnqueueInboxAsync(InboxMessage message,
                         Done<InboxReceipt> done) override;
  absl::StatusOr<std::vector<InboxMessage>> ReadInbox(
      absl::string_view task_id) override;
  absl::StatusOr<std::vector<std::string>> TasksWithInbox() override
      ABSL_LOCKS_EXCLUDED(mu_);
  void DeleteInboxAsync(std::vector<int64_t> ids, StatusDone done) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // OK when this daemon may write task `id` (it owns it at the epoch it
  // holds); else the refusal, having forgotten the task. `lost` is set
  // when on_lease_lost must be called (outside the locks).
  absl::Status Fence(const std::string& id, bool& lost)
      ABSL_LOCKS_EXCLUDED(mu_);
  void LeaseLost(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Calls on_inbox(task_id) unless notifications are dropped.
  void Notify(const std::string& task_id) ABSL_LOCKS_EXCLUDED(mu_);

  FakeClusterDatabase& database_;
  MemoryStore& tasks_;
  // Taken before database_.mu_ when both are held.
  mutable absl::Mutex mu_ ABSL_ACQUIRED_BEFORE(database_.mu_);
  std::string daemon_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> owned_ ABSL_GUARDED_BY(mu_);
  // Shared, so a callback runs outside mu_ while another thread may set
  // new ones.
  std::shared_ptr<ClusterCallbacks> callbacks_ ABSL_GUARDED_BY(mu_);
  bool drop_notifications_ ABSL_GUARDED_BY(mu_) = false;
  int failing_deletes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace corosched::server
