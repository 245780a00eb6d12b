#include "server/store/sqlite_reader_pool.h"

#include <utility>

namespace corosched::server {

absl::Status SqliteReaderPool::Run(
    absl::FunctionRef<absl::Status(SqliteConnection&)> read) {
  absl::StatusOr<std::unique_ptr<SqliteConnection>> connection = Acquire();
  if (!connection.ok()) return connection.status();
  SqliteConnection& reader = **connection;
  absl::Status status = reader.Run("BEGIN");
  if (status.ok()) {
    status = read(reader);
    // Ends the read transaction even after a failed read.
    absl::Status ended = reader.Run("COMMIT");
    if (status.ok()) status = ended;
  }
  Release(*std::move(connection));
  return status;
}

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteReaderPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    while (idle_.empty() && open_ >= max_readers_) returned_.Wait(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<SqliteConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;  // a slot for the connection opened below
  }
  absl::StatusOr<std::unique_ptr<SqliteConnection>> opened =
      SqliteConnection::Open(options_);
  if (!opened.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    returned_.Signal();
  }
  return opened;
}

void SqliteReaderPool::Release(std::unique_ptr<SqliteConnection> connection) {
  const bool broken = !connection->storage_failure().ok();
  if (broken) connection.reset();  // closed outside the lock
  absl::MutexLock lock(&mu_);
  if (broken) {
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
  returned_.Signal();
}

}  // namespace corosched::server
