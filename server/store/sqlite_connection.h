#pragma once

// A thin owner of one sqlite3 connection for the durable store: it opens the
// database with the store's settings, caches prepared statements, and turns
// SQLite result codes into absl::Status messages that name the file by its
// name alone (file_name()): such a message can reach a client, who is not
// told where the daemon keeps its files.
//
//   auto connection = SqliteConnection::Open({.path = ".../corosched.db"});
//   absl::StatusOr<SqliteStatement> select =
//       (*connection)->Prepare("SELECT status FROM tasks WHERE id = ?1");
//   select->BindText(1, id);
//   absl::StatusOr<bool> row = select->Step();
//
// Storage failures are sticky: once any call on the connection reports one
// (an I/O error, a full disk, corruption: see IsStorageFailure), it is kept
// in storage_failure() for good, so the writer can tell "this write broke a
// rule" from "the disk let us down" without threading codes through.
//
// Thread-safety: a connection (and its statements) is used by one thread at
// a time; SQLite is opened in multi-thread mode (no per-connection mutex).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace corosched::server {

// True for result codes that mean the storage itself failed (I/O error, disk
// full, corruption, ...), as opposed to a statement that broke a constraint.
bool IsStorageFailure(int code);

class SqliteConnection;

// A prepared statement borrowed from a connection's cache; resets and clears
// its bindings when destroyed. Move-only.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  // Parameter indexes start at 1. Text and blobs are copied by SQLite.
  void BindInt(int index, int64_t value);
  void BindText(int index, absl::string_view value);
  void BindBlob(int index, absl::string_view value);
  void BindNull(int index);

  // True when a row is ready to read, false when the statement is done.
  absl::StatusOr<bool> Step();
  // Steps until done; for statements that return no rows.
  absl::Status Run();

  // Columns of the current row; indexes start at 0.
  int64_t Int(int column) const;
  bool IsNull(int column) const;
  // Valid until the next Step or the statement's destruction.
  absl::string_view Text(int column) const;
  absl::string_view Blob(int column) const;

 private:
  friend class SqliteConnection;
  // `borrowed`: the cache entry's flag to clear on destruction; null for an
  // uncached statement, which is finalized instead.
  SqliteStatement(SqliteConnection* connection, sqlite3_stmt* statement,
                  bool* borrowed)
      : connection_(connection), statement_(statement), borrowed_(borrowed) {}

  SqliteConnection* connection_;
  sqlite3_stmt* statement_;  // null once moved from
  bool* borrowed_;
  int bind_error_ = SQLITE_OK;
};

class SqliteConnection {
 public:
  struct Options {
    std::string path;
    // The SQLite VFS to open the file with; empty: the default. Tests pass a
    // fault-injecting one.
    std::string vfs;
    // Readers get `PRAGMA query_only`; writers `synchronous=FULL`.
    bool writer = false;
    // How long a statement waits for a lock another connection holds.
    absl::Duration busy_timeout = absl::Seconds(10);
  };

  // Opens (creating it for a writer) the database file and applies the
  // connection settings: foreign keys on, busy timeout, extended result
  // codes. Reads nothing from the file yet, so a corrupt file is reported
  // by the first statement (see sqlite_schema.h).
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(
      const Options& options);

  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Runs one or more statements that return no rows (pragmas, DDL),
  // parsing them each time.
  absl::Status Exec(const char* sql);
  // Runs ONE statement that returns no rows through the statement cache:
  // for the ones run again and again (BEGIN, SAVEPOINT, COMMIT).
  absl::Status Run(absl::string_view sql);
  // A pragma's single result, e.g. QueryText("PRAGMA journal_mode=WAL").
  absl::StatusOr<std::string> QueryText(const char* sql);
  absl::StatusOr<int64_t> QueryInt(const char* sql);

  // The statement for `sql`, prepared once per connection and reused. A
  // statement already borrowed (nested use) is prepared afresh instead.
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);

  // The status for SQLite result `code` of an operation described by
  // `what`: UNAVAILABLE for storage failures, DATA_LOSS for corruption,
  // INTERNAL otherwise; the message names the file by file_name(). Records
  // storage failures (see the class comment).
  absl::Status Error(int code, absl::string_view what);

  // OK until a storage failure was reported on this connection.
  const absl::Status& storage_failure() const { return storage_failure_; }
  int64_t last_insert_rowid() const;
  int changes() const;
  const std::string& path() const { return path_; }
  // path() without its directories ("corosched.db"), for messages.
  absl::string_view file_name() const;
  sqlite3* db() const { return db_; }

 private:
  SqliteConnection(sqlite3* db, std::string path)
      : db_(db), path_(std::move(path)) {}

  struct CachedStatement {
    sqlite3_stmt* statement = nullptr;
    bool borrowed = false;
  };

  sqlite3* const db_;
  const std::string path_;
  absl::Status storage_failure_;
  // Node-based: borrowed statements point at their entry's flag.
  absl::node_hash_map<std::string, CachedStatement> statements_;
};

}  // namespace corosched::server
