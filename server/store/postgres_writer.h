#pragma once

// Group commit on PostgreSQL: one thread owns the store's write connection
// and turns whatever writes are queued into one transaction, as
// GroupCommitWriter does for SQLite (group_commit.h).
//
// The writer loop, one batch at a time:
//   1. Wait until the queue is not empty; take up to max_batch_writes.
//   2. BEGIN (with SET LOCAL synchronous_commit = off when no write of the
//      batch is durable: such a commit survives a crash of the daemon, not
//      always one of the database server, as SQLite's NORMAL), then for
//      each write in submission order: SAVEPOINT, apply, RELEASE (or
//      ROLLBACK TO when apply refused the write, which undoes only it).
//   3. COMMIT; report it to the observer; call each write's `done` with its
//      own status, in submission order.
//
// Database trouble never stops the writer for good:
//   - a lost connection or a server going away during steps 2 and 3 answers
//     every write of the batch UNAVAILABLE (never OK: a caller is told OK
//     only after COMMIT returned success; after a failed COMMIT the write
//     may or may not be stored);
//   - the writer then reconnects, with back-off from min_backoff doubling
//     to max_backoff; while it cannot, writes are answered UNAVAILABLE at
//     once (a write found dead at BEGIN, before anything was sent, is
//     retried once on a fresh connection: a server restart between two
//     batches costs no write);
//   - a write marked retry_until_reachable is not answered UNAVAILABLE but
//     kept and applied again, first, once the database can be reached.
//
// Thread-safety: Submit from any thread, including from a `done`. Callbacks
// run on the writer thread; they must not block.

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/commit_observer.h"
#include "server/store/postgres_connection.h"

namespace corosched::server {

struct PgWriterOptions {
  int max_batch_writes = 512;
  // Not owned; must outlive the writer. May be null.
  CommitObserver* observer = nullptr;
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

class PgWriter {
 public:
  struct Write {
    // Runs on the writer thread inside the batch's transaction. Returns why
    // the write was refused (NOT_FOUND, ...), or UNAVAILABLE from the
    // connection (which fails the batch).
    absl::AnyInvocable<absl::Status(PgConnection&)> apply;
    // The outcome: apply's status once COMMIT succeeded, or UNAVAILABLE.
    absl::AnyInvocable<void(absl::Status)> done;
    // False: committed with synchronous_commit off when its batch has no
    // durable write.
    bool durable = true;
    bool retry_until_reachable = false;
  };

  // Starts the writer thread. REQUIRES: the schema is migrated.
  PgWriter(std::unique_ptr<PgConnection> connection, PgWriterOptions options);
  ~PgWriter();
  PgWriter(const PgWriter&) = delete;
  PgWriter& operator=(const PgWriter&) = delete;

  // Queues `write`. Once stopped, answers UNAVAILABLE at once on the
  // calling thread.
  void Submit(Write write) ABSL_LOCKS_EXCLUDED(mu_);
  // Commits and answers what is queued (writes kept for retry while the
  // database is unreachable are answered UNAVAILABLE), then joins the
  // thread. Idempotent. REQUIRES: not on the writer thread.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  bool OnWriterThread() const;

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<Write> TakeBatch(int* queued, bool* stopping)
      ABSL_LOCKS_EXCLUDED(mu_);
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_;
  }
  // Reconnects if the back-off allows (`now`: regardless of it).
  void MaybeReconnect(bool now);
  // Steps 2 and 3 up to COMMIT. `sent`: whether anything reached the
  // server (false: the batch may be retried on a new connection).
  absl::Status CommitBatch(std::vector<Write>& batch,
                           std::vector<absl::Status>& results, bool* sent);
  // Answers `batch` with `status`, keeping writes to retry (unless
  // stopping).
  void Answer(std::vector<Write>& batch, const absl::Status& status,
              bool stopping);

  // Writer thread only.
  const PgWriterOptions options_;
  const std::unique_ptr<PgConnection> connection_;
  std::vector<Write> deferred_;
  absl::Time next_attempt_ = absl::InfinitePast();
  absl::Duration backoff_;

  mutable absl::Mutex mu_;
  std::deque<Write> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace corosched::server
