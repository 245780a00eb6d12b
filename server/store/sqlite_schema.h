#pragma once

// The durable store's schema and its migrations. The tables are written out,
// with what each column holds, in docs/durability.md; the SQL is in
// sqlite_schema.cc.
//
// The schema version is `PRAGMA user_version`; `PRAGMA application_id` marks
// the file as Corosched's. OpenStoreDatabase opens the writer connection at
// start-up and prepares the schema before anything else touches the file:
//
//   1. Read the header. A file SQLite cannot read (SQLITE_NOTADB, CORRUPT)
//      stops start-up with DATA_LOSS naming the file and what to do.
//   2. `PRAGMA quick_check` (when asked). Any finding stops start-up with
//      DATA_LOSS naming the file and the first findings.
//   3. A schema newer than this build's, or a database some other program
//      wrote, stops start-up with FAILED_PRECONDITION.
//   4. WAL mode on, then the missing migrations in ONE transaction that also
//      sets user_version: a crash mid-migration leaves the old version.
//   5. One durable write that changes nothing (user_version rewritten with
//      its value, committed with an fsync): a disk that takes no writes
//      (full, read-only, failing) stops start-up here, naming the file,
//      instead of at the first write a client waits for.
//
// Nothing here ever deletes or replaces the file; every refusal says what
// the operator can do instead.

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/sqlite_connection.h"

namespace corosched::server {

// The schema version this build writes and reads.
inline constexpr int kSqliteSchemaVersion = 3;

// 'CRSC': identifies a Corosched database in PRAGMA application_id.
inline constexpr int kSqliteApplicationId = 0x43525343;

struct SchemaOptions {
  // Run `PRAGMA quick_check` before anything else. It reads the whole file
  // (about a second per GB on an SSD); a daemon turns it off only where
  // start-up time matters more than catching a damaged file early.
  bool quick_check = true;
  // Migrate up to this version only: for tests that build an old database.
  int target_version = kSqliteSchemaVersion;
};

// Opens the store's writer connection with `options` (options.writer set)
// and prepares the schema, as above.
absl::StatusOr<std::unique_ptr<SqliteConnection>> OpenStoreDatabase(
    const SqliteConnection::Options& options, const SchemaOptions& schema);

// Steps 1 to 5 on an open connection. REQUIRES: `connection` is the only
// writer and no transaction is open.
absl::Status PrepareSchema(SqliteConnection& connection,
                           const SchemaOptions& options);

}  // namespace corosched::server
