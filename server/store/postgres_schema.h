#pragma once

// The PostgreSQL store's schema (docs/postgres-store.md): versioned
// migrations recorded in corosched_schema_migrations, applied at Open in
// one transaction under a transaction-level advisory lock, so that several
// daemons starting at once migrate once (the others wait for the lock, then
// find nothing left to do).

#include <cstdint>

#include "absl/status/status.h"
#include "server/store/postgres_connection.h"

namespace corosched::server {

// The schema version this build writes and reads.
inline constexpr int64_t kPostgresSchemaVersion = 2;

// The advisory lock every migration runs under (an arbitrary constant, the
// same in every release: "corosch" in ASCII).
inline constexpr int64_t kPostgresMigrationLock = 0x636f726f736368;

// Brings the database to this build's schema version, or refuses a
// database whose schema is newer than this build knows (FAILED_PRECONDITION,
// naming both versions), changing nothing.
absl::Status MigratePostgresSchema(PgConnection& connection);

}  // namespace corosched::server
