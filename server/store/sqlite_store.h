#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "server/store/data_dir_lock.h"
#include "server/store/group_commit.h"
#include "server/store/progress_joiner.h"
#include "server/store/purgeable_store.h"
#include "server/store/read_threads.h"
#include "server/store/sqlite_reader_pool.h"
#include "server/store/sqlite_writes.h"
#include "server/store/task_store.h"

namespace corosched::server {

struct SqliteStoreOptions {
  // The data directory (must exist): holds corosched.db (+ -wal, -shm) and
  // the LOCK file, all owner-only (data_dir_files.h).
  std::string data_dir;
  // Called during Open, on its thread, with each thing the operator should
  // hear of: a database file that was open to other users and is now
  // owner-only, a data directory open to other users. May be empty.
  absl::AnyInvocable<void(const std::string& message)> on_warning;
  // Called once, on the writer thread, when the store fails for good (a
  // failed write or fsync): the daemon logs it and exits non-zero. Must not
  // block, wait for a write, or destroy the store.
  absl::AnyInvocable<void(const absl::Status&)> on_fatal_error;
  // Commit latency, batch sizes, failures. Not owned; outlives the store.
  CommitObserver* observer = nullptr;
  // PRAGMA quick_check at open; see sqlite_schema.h for its cost.
  bool quick_check = true;
  int max_batch_writes = 512;
  // Reader connections, at most; and the threads that run GetTaskAsync and
  // FindWakeAsync (each takes a connection while it reads).
  int max_readers = 4;
  int read_threads = 2;
  // PurgeFinishedBeforeAsync deletes at most this many tasks per write, so
  // that other writes queue behind one small delete at most.
  int purge_chunk_tasks = 100;
  int checkpoint_wal_pages = 4000;
  // The SQLite VFS; empty: the default. Tests inject faults through one.
  std::string vfs;
  // Events kept per task, at least: each progress write drops the task's
  // runs of events older than its last this many (ReadEvents then starts
  // at the first kept one).
  uint64_t max_events_per_task = 10000;
};

// The durable TaskStore (`--durability=sync`): one SQLite database in WAL
// mode under the data directory, with group commit. Design, schema and the
// failure rules: docs/durability.md.
//
//   SqliteStoreOptions options{.data_dir = config.data_dir};
//   options.on_fatal_error = [](const absl::Status& s) { log; exit soon; };
//   absl::StatusOr<std::unique_ptr<SqliteStore>> store =
//       SqliteStore::Open(std::move(options));
//   if (!store.ok()) { log store.status(); exit non-zero; }  // clear message
//   (*store)->ForEachUnfinishedTask(resume);  // before SERVING
//
// Writes: every write is queued for one writer thread that commits whatever
// is queued as one transaction (group_commit.h), so concurrent writers share
// one fsync; `done` runs on the writer thread after the commit is on disk
// (never OK for anything that is not). RecordProgressAsync and
// PurgeFinishedBeforeAsync may skip the fsync: a crash may lose them.
// Progress of a task still queued is joined (progress_joiner.h).
//
// Reads run on their own connections (WAL readers never block the writer)
// and see every write whose commit has returned, so a caller that waited
// for a write (or is in its `done`) reads it back. The synchronous reads run
// on the caller's thread; GetTaskAsync and FindWakeAsync run on the store's
// reader threads (read_threads.h) and answer there.
//
// Failures: a storage failure makes every later write UNAVAILABLE, and
// on_fatal_error fires once. Reads keep working while they can.
//
// Thread-safety: every method may be called from any thread.
class SqliteStore final : public TaskStore, public PurgeableStore {
 public:
  static constexpr const char* kDatabaseFile = "corosched.db";

  // Locks the data directory, opens (or creates) the database, checks it
  // and applies migrations (sqlite_schema.h), and starts the writer and the
  // reader threads. FAILED_PRECONDITION when another store holds the
  // directory or the database is from a newer release; DATA_LOSS when it is
  // damaged.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      SqliteStoreOptions options);

  // Commits and answers every queued write, then answers every queued
  // read (also those the callbacks queue meanwhile; a write they make then
  // is answered UNAVAILABLE), then closes the database and releases the
  // lock. REQUIRES: no other call is running or starts.
  ~SqliteStore() override;

  // --- TaskStore ---
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
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatusIn(
      absl::string_view namespace_name) override;
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatus()
      override;
  void FindWakeAsync(std::string id, std::string request_id,
                     Done<std::optional<WakeRecord>> done) override;
  void RecordWakeSignalAsync(std::string id, std::string request_id,
                             WakeRecord wake, v1::PendingSignal signal,
                             StatusDone done) override;

  // --- Recovery ---

  // Calls `visit` with every unfinished task (finished_at unset), oldest
  // first, with its definition, inputs, labels, start_at, latest snapshot
  // (mailbox and deadlines included) and last_event_sequence. Reads
  // `page_size` tasks per read transaction and visits them outside it.
  // Stops at, and returns, the first error of `visit`.
  absl::Status ForEachUnfinishedTask(
      absl::FunctionRef<absl::Status(TaskRecord)> visit,
      int page_size) override;
  absl::StatusOr<uint64_t> CountUnfinishedTasks();

  // --- Retention (PurgeableStore) ---

  // In writes of purge_chunk_tasks tasks each; labels go with their tasks.
  void PurgeFinishedBeforeAsync(absl::Time cutoff, int max_rows,
                                Done<int> done) override;

  // OK, or why the store stopped accepting writes.
  absl::Status failure() const { return writer_->failure(); }
  const std::string& database_path() const { return database_path_; }
  // True on the writer thread, where every write's `done` runs: code there
  // that waited for a write would wait for itself.
  bool OnWriterThread() const { return writer_->OnWriterThread(); }

 private:
  SqliteStore(std::unique_ptr<DataDirLock> lock, std::string database_path,
              int purge_chunk_tasks)
      : lock_(std::move(lock)),
        database_path_(std::move(database_path)),
        purge_chunk_tasks_(purge_chunk_tasks) {}

  // Queues `apply` for the writer and hands its result to `done`.
  template <typename T>
  void Submit(absl::AnyInvocable<absl::StatusOr<T>(SqliteConnection&)> apply,
              Done<T> done, bool durable);
  // Runs `read` in a read transaction on a reader connection.
  template <typename T>
  absl::StatusOr<T> Read(
      absl::FunctionRef<absl::StatusOr<T>(SqliteConnection&)> read);
  // CreateTaskAsync for a daemon-chosen id: progress may join it.
  void CreateJoinable(TaskRecord record,
                      std::vector<v1::TaskEvent> first_events,
                      Done<CreateTaskResult> done);

  // Used by writes on the writer thread only.
  const std::unique_ptr<WriterState> writer_state_ =
      std::make_unique<WriterState>();
  ProgressJoiner joiner_;

  // Destroyed last: the lock outlives every connection.
  const std::unique_ptr<DataDirLock> lock_;
  const std::string database_path_;
  const int purge_chunk_tasks_;
  std::unique_ptr<SqliteReaderPool> readers_;
  std::unique_ptr<GroupCommitWriter> writer_;
  // Stopped after the writer (a write's callback may read) and before the
  // readers close (a read borrows a reader connection): ~SqliteStore.
  std::unique_ptr<ReadThreads> read_threads_;
};

}  // namespace corosched::server
