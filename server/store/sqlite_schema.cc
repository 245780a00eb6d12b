#include "server/store/sqlite_schema.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace corosched::server {
namespace {

// Version 1. Times are nanoseconds since the Unix epoch. `position` columns
// are AUTOINCREMENT so they only grow: page tokens and newest-first listing
// rely on it even after the newest rows are purged.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE definitions (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  definition BLOB NOT NULL,          -- deterministic v1.TaskDefinition
  registered_at_ns INTEGER NOT NULL,
  UNIQUE (name, version)
);
CREATE INDEX definitions_by_name ON definitions (name, position);

-- The definitions tasks run, stored once however many tasks share one.
CREATE TABLE task_definitions (
  id INTEGER PRIMARY KEY,
  digest INTEGER NOT NULL,           -- FNV-1a of `definition`
  definition BLOB NOT NULL
);
CREATE INDEX task_definitions_by_digest ON task_definitions (digest);

CREATE TABLE tasks (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  request_fingerprint BLOB NOT NULL,
  definition_id INTEGER NOT NULL REFERENCES task_definitions (id),
  definition_name TEXT NOT NULL,
  inputs_and_labels BLOB NOT NULL,   -- v1.SubmitTaskRequest, fields 3 and 4
  created_at_ns INTEGER NOT NULL,
  start_at_ns INTEGER,
  finished_at_ns INTEGER,
  status INTEGER NOT NULL,           -- snapshot.status, for the indexes
  snapshot BLOB NOT NULL,            -- v1.TaskSnapshot
  last_event_sequence INTEGER NOT NULL,
  ended INTEGER NOT NULL DEFAULT 0   -- the `finished` event is recorded
);
CREATE INDEX tasks_by_status ON tasks (status, position);
CREATE INDEX tasks_by_definition ON tasks (definition_name, position);
CREATE INDEX tasks_unfinished ON tasks (position)
  WHERE finished_at_ns IS NULL;
CREATE INDEX tasks_by_finish ON tasks (finished_at_ns)
  WHERE finished_at_ns IS NOT NULL;

CREATE TABLE task_labels (
  task INTEGER NOT NULL REFERENCES tasks (position) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (task, key)
) WITHOUT ROWID;

CREATE TABLE events (
  task INTEGER NOT NULL REFERENCES tasks (position) ON DELETE CASCADE,
  sequence INTEGER NOT NULL,
  event BLOB NOT NULL,               -- v1.TaskEvent, sequence included
  PRIMARY KEY (task, sequence)
) WITHOUT ROWID;

CREATE TABLE wakes (
  task INTEGER NOT NULL REFERENCES tasks (position) ON DELETE CASCADE,
  request_id TEXT NOT NULL,
  disposition INTEGER NOT NULL,
  sequence INTEGER NOT NULL,
  PRIMARY KEY (task, request_id)
) WITHOUT ROWID;

-- Tasks by status, kept by triggers so counting never scans.
CREATE TABLE task_counts (
  status INTEGER PRIMARY KEY,
  count INTEGER NOT NULL
);
CREATE TRIGGER tasks_counted_on_insert AFTER INSERT ON tasks BEGIN
  INSERT INTO task_counts (status, count) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER tasks_counted_on_update AFTER UPDATE OF status ON tasks
  WHEN OLD.status <> NEW.status BEGIN
  UPDATE task_counts SET count = count - 1 WHERE status = OLD.status;
  INSERT INTO task_counts (status, count) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER tasks_counted_on_delete AFTER DELETE ON tasks BEGIN
  UPDATE task_counts SET count = count - 1 WHERE status = OLD.status;
END;
)sql";

// Version 2: the writer keeps task_counts itself, once per batch
// (StatusCountChanges in sqlite_writes.h), instead of two trigger
// statements per task row written: a fifth of the writer's time per submit.
constexpr const char* kSchemaV2 = R"sql(
DROP TRIGGER tasks_counted_on_insert;
DROP TRIGGER tasks_counted_on_update;
DROP TRIGGER tasks_counted_on_delete;
)sql";

// Version 3: a write's events go in one row (sqlite_task_rows.h), not a
// row each: a hello submit wrote seven event rows, about a quarter of the
// writer's time per submit. Rows written before keep one event each; their
// `encoding` says so.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE events ADD COLUMN encoding INTEGER NOT NULL DEFAULT 0;
)sql";

// migrations[i] brings the schema from version i to i + 1.
constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3};
static_assert(std::size(kMigrations) == kSqliteSchemaVersion);

// DATA_LOSS errors (SQLITE_CORRUPT, SQLITE_NOTADB) get what to do next;
// others (an I/O error, say) pass as they are.
absl::Status Unreadable(const std::string& path, const absl::Status& error) {
  if (!absl::IsDataLoss(error)) return error;
  return absl::DataLossError(absl::StrCat(
      "the store's database ", path,
      " is damaged or is not a SQLite database (", error.message(),
      "). It was left as it is: restore it from a backup, or move it (with "
      "its -wal and -shm files) out of the data directory to start with an "
      "empty store; corosched-server never replaces it by itself"));
}

absl::Status QuickCheck(SqliteConnection& connection) {
  absl::StatusOr<SqliteStatement> check =
      connection.Prepare("PRAGMA quick_check(5)");
  if (!check.ok()) return Unreadable(connection.path(), check.status());
  std::vector<std::string> findings;
  for (;;) {
    absl::StatusOr<bool> row = check->Step();
    if (!row.ok()) return Unreadable(connection.path(), row.status());
    if (!*row) break;
    if (check->Text(0) != "ok") findings.emplace_back(check->Text(0));
  }
  if (findings.empty()) return absl::OkStatus();
  return Unreadable(
      connection.path(),
      absl::DataLossError(absl::StrCat("the file is corrupt (quick_check: ",
                                       absl::StrJoin(findings, "; "), ")")));
}

// Refuses files this build must not change: another program's database, or
// one written by a newer Corosched.
absl::Status CheckOwner(SqliteConnection& connection, int64_t version) {
  absl::StatusOr<int64_t> application =
      connection.QueryInt("PRAGMA application_id");
  absl::StatusOr<int64_t> tables =
      connection.QueryInt("SELECT count(*) FROM sqlite_schema");
  if (!application.ok())
    return Unreadable(connection.path(), application.status());
  if (!tables.ok()) return Unreadable(connection.path(), tables.status());
  const bool empty = version == 0 && *tables == 0;
  if (!empty && *application != kSqliteApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        connection.path(),
        " is not a corosched-server database (another program wrote it); "
        "point --data-dir at a directory of its own"));
  }
  if (version > kSqliteSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the store's database ", connection.path(), " has schema version ",
        version, ", newer than version ", kSqliteSchemaVersion,
        " which this corosched-server understands: a newer release wrote "
        "it. Run that release (or a later one) on this data directory; this "
        "one left the file unchanged"));
  }
  return absl::OkStatus();
}

absl::Status Migrate(SqliteConnection& connection, int64_t target) {
  if (absl::Status begin = connection.Exec("BEGIN IMMEDIATE"); !begin.ok()) {
    return begin;
  }
  absl::StatusOr<int64_t> version = connection.QueryInt("PRAGMA user_version");
  absl::Status status = version.status();
  const int64_t from = version.value_or(0);
  for (int64_t v = from; status.ok() && v < target; ++v) {
    status = connection.Exec(kMigrations[v]);
  }
  if (status.ok() && from < target) {
    std::string stamp =
        absl::StrCat("PRAGMA user_version=", target,
                     "; PRAGMA application_id=", kSqliteApplicationId, ";");
    status = connection.Exec(stamp.c_str());
  }
  if (status.ok()) status = connection.Exec("COMMIT");
  if (!status.ok()) {
    (void)connection.Exec("ROLLBACK");  // best effort; the cause is `status`
    return absl::Status(status.code(),
                        absl::StrCat("cannot bring the schema to version ",
                                     target, ": ", status.message()));
  }
  return absl::OkStatus();
}

// Step 5: the header's user_version rewritten with its own value, in a
// transaction the writer connection commits with synchronous=FULL. SQLite
// writes the header page to the WAL and fsyncs it whether or not the value
// changed, so this is a real durable write that changes nothing.
absl::Status ProbeWrite(SqliteConnection& connection) {
  absl::StatusOr<int64_t> version = connection.QueryInt("PRAGMA user_version");
  absl::Status status = version.status();
  if (status.ok()) status = connection.Exec("BEGIN IMMEDIATE");
  if (status.ok()) {
    const std::string rewrite = absl::StrCat("PRAGMA user_version=", *version);
    status = connection.Exec(rewrite.c_str());
    if (status.ok()) status = connection.Exec("COMMIT");
    if (!status.ok()) (void)connection.Exec("ROLLBACK");  // best effort
  }
  if (status.ok()) return status;
  return absl::Status(
      status.code(),
      absl::StrCat("the store's database ", connection.path(),
                   " takes no writes (", status.message(),
                   "): is its disk full, read-only or failing? Fix that and "
                   "start again"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteConnection>> OpenStoreDatabase(
    const SqliteConnection::Options& options, const SchemaOptions& schema) {
  absl::StatusOr<std::unique_ptr<SqliteConnection>> connection =
      SqliteConnection::Open(options);
  if (absl::IsDataLoss(connection.status())) {
    return Unreadable(options.path, connection.status());
  }
  if (!connection.ok()) return connection.status();
  if (absl::Status prepared = PrepareSchema(**connection, schema);
      !prepared.ok()) {
    return prepared;
  }
  return connection;
}

absl::Status PrepareSchema(SqliteConnection& connection,
                           const SchemaOptions& options) {
  // The first read of the header: an unreadable file fails here.
  absl::StatusOr<int64_t> version = connection.QueryInt("PRAGMA user_version");
  if (!version.ok()) return Unreadable(connection.path(), version.status());
  if (options.quick_check) {
    if (absl::Status checked = QuickCheck(connection); !checked.ok()) {
      return checked;
    }
  }
  if (absl::Status owner = CheckOwner(connection, *version); !owner.ok()) {
    return owner;
  }
  absl::StatusOr<std::string> mode =
      connection.QueryText("PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        connection.path(), ": cannot switch to WAL mode (journal_mode is ",
        *mode, "); the data directory must be on a local file system"));
  }
  if (absl::Status migrated = Migrate(
          connection,
          std::clamp<int64_t>(options.target_version, 0, kSqliteSchemaVersion));
      !migrated.ok()) {
    return migrated;
  }
  return ProbeWrite(connection);
}

}  // namespace corosched::server
