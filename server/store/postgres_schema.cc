#include "server/store/postgres_schema.h"

#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"

namespace corosched::server {
namespace {

// Version 1. Times of tasks and definitions are nanoseconds since the Unix
// epoch (bigint): a timestamptz keeps microseconds only, and records must
// come back as they were written. `position` columns only grow: page tokens
// and newest-first listing rely on it. `owner`, `epoch`: the task lease
// (cluster_store.h); `due_at_ns`: when an unfinished task next needs a poll
// (its snapshot's deadline, 0 for now or never), the order claims take.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE corosched_definitions (
  position bigserial PRIMARY KEY,
  name text NOT NULL,
  version text NOT NULL,
  namespace text NOT NULL,
  definition bytea NOT NULL,          -- deterministic v1.TaskDefinition
  registered_at_ns bigint NOT NULL,
  UNIQUE (name, version)
);
CREATE INDEX corosched_definitions_by_name
  ON corosched_definitions (name, position);
CREATE INDEX corosched_definitions_by_namespace
  ON corosched_definitions (namespace, position);

CREATE TABLE corosched_tasks (
  key text PRIMARY KEY,
  position bigserial NOT NULL UNIQUE,
  namespace text NOT NULL,
  definition_name text NOT NULL,
  request_fingerprint bytea NOT NULL,
  definition bytea NOT NULL,          -- deterministic v1.TaskDefinition
  inputs_and_labels bytea NOT NULL,   -- v1.SubmitTaskRequest, fields 3 and 4
  labels jsonb NOT NULL,              -- the labels again, for filtering
  created_at_ns bigint NOT NULL,
  start_at_ns bigint,
  finished_at_ns bigint,
  status integer NOT NULL,            -- snapshot.status, for the indexes
  snapshot bytea NOT NULL,            -- v1.TaskSnapshot
  last_event_sequence bigint NOT NULL,
  ended boolean NOT NULL DEFAULT false,  -- the `finished` event is recorded
  due_at_ns bigint NOT NULL DEFAULT 0,
  owner text,
  epoch bigint NOT NULL DEFAULT 0
);
CREATE INDEX corosched_tasks_by_namespace
  ON corosched_tasks (namespace, position);
CREATE INDEX corosched_tasks_by_status ON corosched_tasks (status, position);
CREATE INDEX corosched_tasks_by_definition
  ON corosched_tasks (definition_name, position);
CREATE INDEX corosched_tasks_unfinished
  ON corosched_tasks (due_at_ns, position) WHERE finished_at_ns IS NULL;
CREATE INDEX corosched_tasks_by_owner
  ON corosched_tasks (owner) WHERE finished_at_ns IS NULL;
CREATE INDEX corosched_tasks_by_finish
  ON corosched_tasks (finished_at_ns) WHERE finished_at_ns IS NOT NULL;

-- One row per event, with the lease epoch and the poll count
-- (snapshot.steps.polls) of the write that recorded it.
CREATE TABLE corosched_task_events (
  task_key text NOT NULL REFERENCES corosched_tasks (key) ON DELETE CASCADE,
  sequence bigint NOT NULL,
  epoch bigint NOT NULL,
  polls bigint NOT NULL,
  event bytea NOT NULL,               -- v1.TaskEvent, sequence included
  PRIMARY KEY (task_key, sequence)
);

CREATE TABLE corosched_wakes (
  task_key text NOT NULL REFERENCES corosched_tasks (key) ON DELETE CASCADE,
  request_id text NOT NULL,
  disposition integer NOT NULL,
  sequence bigint NOT NULL,
  PRIMARY KEY (task_key, request_id)
);

CREATE TABLE corosched_daemons (
  id text PRIMARY KEY,
  lease_until timestamptz NOT NULL,
  joined_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE corosched_inbox (
  id bigserial PRIMARY KEY,
  task_key text NOT NULL REFERENCES corosched_tasks (key) ON DELETE CASCADE,
  kind smallint NOT NULL,             -- 0 wake, 1 cancel
  request_id text NOT NULL DEFAULT '',
  payload bytea NOT NULL,             -- v1.Signal, or the cancel's reason
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX corosched_inbox_by_task ON corosched_inbox (task_key, id);
CREATE UNIQUE INDEX corosched_inbox_request_ids
  ON corosched_inbox (task_key, request_id) WHERE request_id <> '';
)sql";

// Version 2: routing work items to the daemons whose workers wait
// (work_routing_store.h). `handoff_to`, `handoff_at`: the daemon a task was
// handed over to and when (the database's clock), cleared by the claim;
// corosched_work_consumers: each daemon's advertisement of the consumers
// waiting on a work queue, current until `seen_until`.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE corosched_tasks ADD COLUMN handoff_to text;
ALTER TABLE corosched_tasks ADD COLUMN handoff_at timestamptz;
CREATE TABLE corosched_work_consumers (
  queue text NOT NULL,
  daemon text NOT NULL,
  consumers bigint NOT NULL,
  seen_until timestamptz NOT NULL,
  PRIMARY KEY (queue, daemon)
);
)sql";

// migrations[i] brings the schema from version i to i + 1.
constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2};
static_assert(std::size(kMigrations) == kPostgresSchemaVersion);

absl::Status Migrate(PgConnection& connection, int64_t target) {
  const std::string lock = absl::StrCat("SELECT pg_advisory_xact_lock(",
                                        kPostgresMigrationLock, ")");
  if (absl::Status s = connection.Exec(lock.c_str()); !s.ok()) return s;
  // Under the lock: a concurrent CREATE TABLE IF NOT EXISTS can still fail
  // on the type it creates.
  if (absl::Status s = connection.Exec(
          "CREATE TABLE IF NOT EXISTS corosched_schema_migrations ("
          "version integer PRIMARY KEY, "
          "applied_at timestamptz NOT NULL DEFAULT now())");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<PgResult> current = connection.Query(
      "SELECT coalesce(max(version), 0)::bigint "
      "FROM corosched_schema_migrations",
      PgParams());
  if (!current.ok()) return current.status();
  const int64_t from = current->Int(0, 0);
  if (from > kPostgresSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the PostgreSQL database has Corosched schema version ", from,
        ", newer than version ", kPostgresSchemaVersion,
        " which this corosched-server understands: a newer release "
        "migrated it. Run that release (or a later one); this one changed "
        "nothing"));
  }
  for (int64_t v = from; v < target; ++v) {
    if (absl::Status s = connection.Exec(kMigrations[v]); !s.ok()) return s;
    PgParams version;
    version.Int(v + 1);
    absl::StatusOr<PgResult> recorded = connection.Query(
        "INSERT INTO corosched_schema_migrations (version) VALUES ($1)",
        version);
    if (!recorded.ok()) return recorded.status();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MigratePostgresSchema(PgConnection& connection) {
  const int64_t target_version = kPostgresSchemaVersion;
  absl::Status status = connection.Exec("BEGIN");
  if (status.ok()) status = Migrate(connection, target_version);
  if (status.ok()) status = connection.Commit();
  if (status.ok()) return status;
  (void)connection.Exec("ROLLBACK");  // best effort; the cause is `status`
  if (absl::IsFailedPrecondition(status)) return status;
  return absl::Status(status.code(),
                      absl::StrCat("cannot bring the PostgreSQL schema to "
                                   "version ",
                                   target_version, ": ", status.message()));
}

}  // namespace corosched::server
