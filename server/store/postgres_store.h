#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "server/store/cluster_store.h"
#include "server/store/commit_observer.h"
#include "server/store/postgres_listener.h"
#include "server/store/postgres_pool.h"
#include "server/store/postgres_writer.h"
#include "server/store/postgres_writes.h"
#include "server/store/progress_joiner.h"
#include "server/store/purgeable_store.h"
#include "server/store/read_threads.h"
#include "server/store/task_store.h"
#include "server/store/work_routing_store.h"

namespace corosched::server {

struct PostgresStoreOptions {
  // A postgresql:// URL or a libpq key=value string.
  std::string url;
  // Reader connections (reads and the cluster calls that answer at once);
  // the writers and the listener have their own besides.
  int connections = 4;
  // Writer connections, each with its thread. A task's writes always go to
  // the same writer (chosen by its id), so they apply in the order issued;
  // the writes of tasks on different writers commit in parallel. One writer
  // waits for a round trip per statement; a second overlaps its waits with
  // the first's (bench/cluster/run.sh, docs/PERFORMANCE.md).
  int writers = 2;
  int max_batch_writes = 512;
  // Events kept per task, at least (as SqliteStoreOptions').
  uint64_t max_events_per_task = 10000;
  // Open fails, and reconnects give up for the moment, after this long.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Reconnection back-off: from min doubling to max.
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // PurgeFinishedBeforeAsync deletes at most this many tasks per write.
  int purge_chunk_tasks = 100;
  // The threads that run GetTaskAsync and FindWakeAsync.
  int read_threads = 2;
  // Called during Open with each thing the operator should hear of. May be
  // empty.
  absl::AnyInvocable<void(const std::string& message)> on_warning;
  // Commit latency and batch sizes. Not owned; outlives the store.
  CommitObserver* observer = nullptr;
};

// The TaskStore and ClusterStore several daemons share (--postgres-url):
// one PostgreSQL database. Schema, batching and failure behaviour:
// docs/postgres-store.md; leases, fencing and the inbox: cluster_store.h.
//
//   auto store = PostgresStore::Open({.url = url});
//   if (!store.ok()) { log store.status(); exit non-zero; }  // no password
//   (*store)->SetClusterCallbacks({...});
//   (*store)->Join(absl::Seconds(15));
//   claimed = (*store)->ClaimTasks(100);  // resume them
//
// Writes queue for a writer thread (the task's: options.writers of them,
// each task's writes on one) that commits whatever is queued as one
// transaction (postgres_writer.h); `done` runs there after COMMIT returned
// success, or with UNAVAILABLE when the database could not be reached (the
// write may or may not be stored then). Reads and the cluster calls run on
// the caller's thread over a pool of connections; GetTaskAsync and
// FindWakeAsync on the store's reader threads.
//
// Writes of a task (its progress, wakes and end) are fenced by the epoch
// this store holds for it (cluster_store.h). A write that fails for want of
// the database leaves the daemon's task ahead of the database: the store
// treats it as a lost lease (forgets the task, on_lease_lost), and gives
// the task up in the database once it can be reached again, so that a
// daemon claims it and resumes it from its recorded state.
//
// A store must Join before it creates tasks (they are created owned by it).
//
// Thread-safety: every method from any thread.
class PostgresStore final : public TaskStore,
                            public ClusterStore,
                            public WorkRoutingStore,
                            public PurgeableStore {
 public:
  // Connects (failing after connect_timeout, with the URL shown without its
  // password), migrates the schema (postgres_schema.h), and starts the
  // writer, the readers and the listener. FAILED_PRECONDITION for a
  // database from a newer release.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(
      PostgresStoreOptions options);
  // Commits and answers every queued write, answers queued reads, then
  // closes the connections. Does not Leave. REQUIRES: no other call is
  // running or starts.
  ~PostgresStore() override;

  // --- TaskStore ---
  void PutDefinitionAsync(v1::TaskDefinition definition, absl::Time now,
                          Done<PutDefinitionResult> done) override;
  absl::StatusOr<DefinitionRecord> GetDefinition(
      absl::string_view name, absl::string_view version) override;
  absl::StatusOr<DefinitionPage> ListDefinitions(
      const DefinitionQuery& query) override;
  // Owned by this daemon at epoch 1. FAILED_PRECONDITION before Join.
  void CreateTaskAsync(TaskRecord record,
                       std::vector<v1::TaskEvent> first_events,
                       Done<CreateTaskResult> done) override;
  absl::StatusOr<TaskRecord> GetTask(absl::string_view id) override;
  void GetTaskAsync(std::string id, Done<TaskRecord> done) override;
  absl::StatusOr<TaskPage> ListTasks(const TaskQuery& query) override;
  // Fenced; IsLeaseLost when this daemon does not hold the task.
  void RecordProgressAsync(std::string id, TaskProgress progress,
                           Done<uint64_t> done) override;
  absl::StatusOr<EventBatch> ReadEvents(absl::string_view id,
                                        uint64_t after_sequence,
                                        int max_events) override;
  // Counted from the rows (no running totals: several daemons write).
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatusIn(
      absl::string_view namespace_name) override;
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatus()
      override;
  void FindWakeAsync(std::string id, std::string request_id,
                     Done<std::optional<WakeRecord>> done) override;
  // Fenced, as RecordProgressAsync.
  void RecordWakeSignalAsync(std::string id, std::string request_id,
                             WakeRecord wake, v1::PendingSignal signal,
                             StatusDone done) override;
  // Every unfinished task, whoever owns it (the daemon resumes through
  // ClaimTasks instead).
  absl::Status ForEachUnfinishedTask(
      absl::FunctionRef<absl::Status(TaskRecord)> visit,
      int page_size) override;

  // --- PurgeableStore ---
  void PurgeFinishedBeforeAsync(absl::Time cutoff, int max_rows,
                                Done<int> done) override;

  // --- ClusterStore ---
  // Any time, from any thread but a callback's: once it returns, the
  // callbacks it replaced are neither running nor called again.
  void SetClusterCallbacks(ClusterCallbacks callbacks) override
      ABSL_LOCKS_EXCLUDED(callbacks_mu_);
  absl::Status Join(absl::Duration lease) override ABSL_LOCKS_EXCLUDED(mu_);
  std::string daemon_id() const override ABSL_LOCKS_EXCLUDED(mu_);
  // On a lost lease, forgets every task without calling on_lease_lost.
  absl::Status RenewDaemonLease(absl::Duration lease) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // One claim at a time. After a claim whose answer was lost (it may have
  // committed), the next one first releases the tasks the database shows
  // this daemon owning that it does not hold.
  absl::StatusOr<std::vector<ClaimedTask>> ClaimTasks(int max_tasks) override
      ABSL_LOCKS_EXCLUDED(mu_, claim_mu_);
  absl::Status ReleaseTasks(const std::vector<std::string>& task_ids) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // REQUIRES: the task writes issued before it were answered (they are
  // refused once the tasks are released).
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
  void DeleteInboxAsync(std::vector<int64_t> ids, StatusDone done) override;

  // --- WorkRoutingStore (postgres_work_routing.cc) ---
  absl::Status AdvertiseConsumers(const std::vector<QueueConsumers>& queues,
                                  absl::Duration ttl) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<QueueConsumers>> FindConsumers(
      const std::vector<std::string>& queues) override ABSL_LOCKS_EXCLUDED(mu_);
  void HandOverAsync(std::string task_id, std::string target,
                     StatusDone done) override ABSL_LOCKS_EXCLUDED(mu_);

  // True on the writer thread, where every write's `done` runs.
  bool OnWriterThread() const;

 private:
  explicit PostgresStore(const PostgresStoreOptions& options);

  // The writer of the task (or other row) `key`: always the same one, so
  // that one task's writes apply in order.
  PgWriter& WriterFor(absl::string_view key) const;
  // Queues `apply` for the writer of `key` and hands its result to `done`.
  template <typename T>
  void Submit(absl::string_view key,
              absl::AnyInvocable<absl::StatusOr<T>(PgConnection&)> apply,
              Done<T> done, bool durable);
  // Runs `read` on a pooled connection.
  template <typename T>
  absl::StatusOr<T> Read(
      absl::FunctionRef<absl::StatusOr<T>(PgConnection&)> read);
  // Runs `body` in a transaction on a pooled connection.
  absl::Status InTransaction(
      absl::FunctionRef<absl::Status(PgConnection&)> body);

  void CreateOwned(TaskRecord record, std::vector<v1::TaskEvent> first_events,
                   Done<CreateTaskResult> done, bool joinable);
  // The fence this store holds for `id` now (epoch 0: none).
  PgFence FenceOf(absl::string_view id) const ABSL_LOCKS_EXCLUDED(mu_);
  // Whether `fence` is still what this store holds for `id`.
  bool Holds(absl::string_view id, const PgFence& fence) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Gives up `keys` at `epochs` in the database, where daemon `id` still
  // owns them at those epochs.
  absl::Status ReleaseInDatabase(const std::string& id,
                                 const std::vector<std::string>& keys,
                                 const std::vector<int64_t>& epochs);
  // Releases the unfinished tasks the database shows daemon `id` owning
  // that this store does not hold (a lost claim answer's).
  absl::Status ReleaseStrays(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(claim_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets `id` if this store holds it at `epoch`; whether it did.
  bool Forget(absl::string_view id, uint64_t epoch) ABSL_LOCKS_EXCLUDED(mu_);
  // Queues the release of `id` under `fence`, kept until the database
  // answers.
  void ReleaseWhenReachable(const std::string& id, const PgFence& fence);
  // A fenced write of `id` under `fence` was answered `status`: on a lost
  // lease, or on a failure that left the database behind the daemon, the
  // task is forgotten and on_lease_lost called; after a failure, the task
  // is released once the database can be reached.
  void AfterFencedWrite(const std::string& id, const PgFence& fence,
                        const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  // Calls on_lease_lost of task `payload` (`lease_lost`), or, for a
  // payload on this daemon's channel, on_handover or on_inbox, if set.
  void Notify(bool lease_lost, const std::string& payload)
      ABSL_LOCKS_EXCLUDED(callbacks_mu_);
  bool CallbacksIdle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(callbacks_mu_) {
    return callbacks_running_ == 0;
  }

  const std::string url_;
  const uint64_t max_events_per_task_;
  const int purge_chunk_tasks_;
  ProgressJoiner joiner_;

  absl::Mutex claim_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool strays_possible_ ABSL_GUARDED_BY(claim_mu_) = false;

  mutable absl::Mutex mu_;
  std::string daemon_id_ ABSL_GUARDED_BY(mu_);
  // The tasks this daemon owns, with the epoch it holds for each.
  absl::flat_hash_map<std::string, uint64_t> owned_ ABSL_GUARDED_BY(mu_);
  // Replaced whole by SetClusterCallbacks; each call takes a reference
  // under callbacks_mu_ and runs outside it, counted in callbacks_running_.
  mutable absl::Mutex callbacks_mu_;
  std::shared_ptr<ClusterCallbacks> callbacks_ ABSL_GUARDED_BY(callbacks_mu_);
  int callbacks_running_ ABSL_GUARDED_BY(callbacks_mu_) = 0;

  std::unique_ptr<PgPool> pool_;
  std::vector<std::unique_ptr<PgWriter>> writers_;
  // Stopped after the writer (a write's callback may read), before the pool.
  std::unique_ptr<ReadThreads> read_threads_;
  std::unique_ptr<PgListener> listener_;
};

// --- Plumbing (templates: used by postgres_store.cc and
// postgres_cluster.cc) -----------------------------------------------------

template <typename T>
void PostgresStore::Submit(
    absl::string_view key,
    absl::AnyInvocable<absl::StatusOr<T>(PgConnection&)> apply, Done<T> done,
    bool durable) {
  // Written by `apply` and read by `done`, both on the writer thread.
  auto result = std::make_shared<std::optional<absl::StatusOr<T>>>();
  WriterFor(key).Submit(
      {.apply =
           [apply = std::move(apply), result](PgConnection& c) mutable {
             *result = apply(c);
             return (*result)->status();
           },
       .done =
           [done = std::move(done), result](absl::Status status) mutable {
             if (!done) return;
             if (!status.ok()) {
               std::move(done)(std::move(status));  // refused, or not stored
             } else if (!result->has_value()) {
               std::move(done)(absl::InternalError("write finished unapplied"));
             } else {
               std::move(done)(std::move(**result));
             }
           },
       .durable = durable});
}

template <typename T>
absl::StatusOr<T> PostgresStore::Read(
    absl::FunctionRef<absl::StatusOr<T>(PgConnection&)> read) {
  std::optional<absl::StatusOr<T>> result;
  absl::Status status = pool_->Run([&](PgConnection& c) {
    result = read(c);
    return result->status();
  });
  if (!status.ok() || !result.has_value()) return status;
  return *std::move(result);
}

}  // namespace corosched::server
