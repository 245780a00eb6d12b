#pragma once

// Group commit: one thread owns the store's write connection and turns
// whatever writes are queued into one transaction, so N concurrent writers
// share one fsync instead of paying N.
//
//   GroupCommitWriter writer(std::move(connection), {.max_batch_writes = 512});
//   writer.Submit({.apply = [](SqliteConnection& c) { return ...; },
//                  .done = [](absl::Status s) { reply(s); }});
//
// The writer loop, one batch at a time:
//   1. Wait until the queue is not empty; take up to max_batch_writes writes
//      (everything that arrived while the previous commit was in flight).
//   2. BEGIN IMMEDIATE; for each write, in submission order: SAVEPOINT,
//      apply, RELEASE (or ROLLBACK TO when apply failed, which undoes only
//      that write: a write that breaks a rule never spoils the batch). A
//      write marked refuses_before_writing skips the savepoint (see Write).
//   3. before_commit, if set; then COMMIT. SQLite fsyncs the WAL
//   (synchronous=FULL) unless no write in
//      the batch asked for durability (then synchronous=NORMAL: durable
//      against a process crash, not against power loss).
//   4. Report the commit to the observer, then call each write's `done` with
//      its own status, in submission order.
//   5. When the WAL has grown past checkpoint_wal_pages, checkpoint it here,
//      so a failed checkpoint fsync is seen too (auto-checkpoint is off).
//
// Failure: a storage failure (I/O error, full disk, failed fsync,
// corruption, a transaction SQLite rolled back by itself) in steps 2, 3 or 5
// puts the writer in a failed state for good:
//   - every write of the batch, every queued write and every later one is
//     answered UNAVAILABLE with the reason; none is ever answered OK;
//   - the observer's OnStorageFailure and then `on_fatal_error` run once,
//     before any write is answered with the failure.
// A caller answered UNAVAILABLE does not know whether its write reached the
// disk (the fsync may have failed after the data was written): it retries
// with the same idempotency key, on a restarted daemon.
//
// Thread-safety: Submit may be called from any thread, including from a
// `done` callback. Callbacks run on the writer thread; they must not block
// (and so must not wait for another write), or every writer stalls.

#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/commit_observer.h"
#include "server/store/sqlite_connection.h"

namespace corosched::server {

struct GroupCommitOptions {
  // At most this many writes per transaction, so one commit never grows
  // without bound under a flood.
  int max_batch_writes = 512;
  // Checkpoint the WAL into the database once it holds this many pages.
  int checkpoint_wal_pages = 4000;
  // Not owned; must outlive the writer. May be null.
  CommitObserver* observer = nullptr;
  // Told once, on the writer thread, that the writer failed for good: the
  // daemon logs it and exits non-zero. Must not block or destroy the writer.
  absl::AnyInvocable<void(const absl::Status&)> on_fatal_error;
  // Runs on the writer thread after the batch's last write, inside its
  // transaction, just before COMMIT: for bookkeeping the writes gather and
  // write once per batch. A failure fails the batch as a storage failure
  // does (see above). May be empty.
  absl::AnyInvocable<absl::Status(SqliteConnection&)> before_commit;
};

class GroupCommitWriter {
 public:
  struct Write {
    // Runs on the writer thread inside the batch's transaction. Returns why
    // the write was refused (NOT_FOUND, ALREADY_EXISTS, ...), or a storage
    // error from the connection. May be called at most once.
    absl::AnyInvocable<absl::Status(SqliteConnection&)> apply;
    // The outcome, once known: apply's status after the commit reached the
    // disk, or UNAVAILABLE. Runs on the writer thread. May be empty.
    absl::AnyInvocable<void(absl::Status)> done;
    // False: this write may be lost to a power failure (see step 3).
    bool durable = true;
    // True: `apply` decides any refusal before it changes anything, so it
    // runs without a savepoint of its own (two statements fewer per write).
    // Should it fail after changing the database all the same, nothing can
    // undo just that write: the batch is rolled back and the writer fails
    // for good, as on a storage failure, so nothing half-written is kept
    // and nothing of the batch is acknowledged.
    bool refuses_before_writing = false;
  };

  // Starts the writer thread. REQUIRES: `connection` is a writer whose
  // schema is prepared, and nothing else writes to the database.
  GroupCommitWriter(std::unique_ptr<SqliteConnection> connection,
                    GroupCommitOptions options);
  // Stop(), then closes the connection.
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Queues `write`. Never blocks beyond a short mutex. Once the writer is
  // being destroyed, answers UNAVAILABLE at once, on the calling thread.
  void Submit(Write write) ABSL_LOCKS_EXCLUDED(mu_);

  // Commits and answers what is queued, then joins the thread; later
  // Submits are answered UNAVAILABLE. Idempotent. REQUIRES: not called on
  // the writer thread.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // OK, or the reason the writer failed.
  absl::Status failure() const ABSL_LOCKS_EXCLUDED(mu_);
  // True on the writer thread (inside apply or done).
  bool OnWriterThread() const;

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits for writes; empty once stopping with nothing queued.
  std::vector<Write> TakeBatch(int* queued) ABSL_LOCKS_EXCLUDED(mu_);
  // Steps 2 and 3. Returns the storage failure that stopped the batch, or OK
  // with each write's status in `results`.
  absl::Status CommitBatch(std::vector<Write>& batch,
                           std::vector<absl::Status>& results);
  absl::Status ApplyOne(Write& write);
  absl::Status SetSynchronous(bool full);
  absl::Status MaybeCheckpoint();
  // Enters the failed state and answers `batch` with it.
  void Fail(const absl::Status& cause, std::vector<Write>& batch)
      ABSL_LOCKS_EXCLUDED(mu_);
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int pages);

  // Set when a write marked refuses_before_writing failed after changing
  // the database. Writer thread only.
  absl::Status broken_;

  // Writer thread only, after construction.
  GroupCommitOptions options_;
  const std::unique_ptr<SqliteConnection> connection_;
  bool synchronous_full_ = true;
  int wal_pages_ = 0;

  mutable absl::Mutex mu_;
  absl::CondVar work_;
  std::deque<Write> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace corosched::server
