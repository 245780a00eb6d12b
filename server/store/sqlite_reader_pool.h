#pragma once

// Reader connections for the durable store. In WAL mode readers never block
// the writer nor each other, so reads run on their own connections, opened
// on demand up to a bound and then reused (each keeps its prepared
// statements). Every Run is one read transaction: a consistent snapshot of
// the last commit at its start.
//
// Thread-safety: Run may be called from any thread; a caller past the bound
// waits until a connection is returned.

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/store/sqlite_connection.h"

namespace corosched::server {

class SqliteReaderPool {
 public:
  // REQUIRES: max_readers > 0; options.writer is false.
  SqliteReaderPool(SqliteConnection::Options options, int max_readers)
      : options_(std::move(options)), max_readers_(max_readers) {}

  // Runs `read` on a reader connection inside a read transaction and
  // returns its status (or the transaction's, if that failed). A
  // connection that saw a storage failure is closed, not reused.
  absl::Status Run(absl::FunctionRef<absl::Status(SqliteConnection&)> read)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::StatusOr<std::unique_ptr<SqliteConnection>> Acquire()
      ABSL_LOCKS_EXCLUDED(mu_);
  void Release(std::unique_ptr<SqliteConnection> connection)
      ABSL_LOCKS_EXCLUDED(mu_);

  const SqliteConnection::Options options_;
  const int max_readers_;

  absl::Mutex mu_;
  absl::CondVar returned_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_ ABSL_GUARDED_BY(mu_);
  // Idle ones included.
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace corosched::server
