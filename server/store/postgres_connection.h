#pragma once

// One libpq connection, with the little the PostgreSQL store needs: queries
// with parameters (bytea sent as binary) and binary results, and errors as
// canonical Status codes whose messages never hold SQL text or a password.
//
//   auto c = PgConnection::Connect(url, absl::Seconds(5));
//   PgParams p;
//   p.Text(id).Bytes(snapshot_bytes).Int(epoch);
//   absl::StatusOr<PgResult> r = (*c)->Query(
//       "UPDATE corosched_tasks SET snapshot = $2 WHERE key = $1 AND "
//       "epoch = $3 RETURNING last_event_sequence", p);
//
// Errors: UNAVAILABLE when the connection is lost or the server is shutting
// down, starting or out of connections (then broken() is true, or the next
// call finds it so); ABORTED for a serialization failure or a deadlock;
// INTERNAL for anything else the server refuses (a bug of ours).
//
// Thread-safety: a connection is used by one thread at a time.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace corosched::server {

// `url` with its password (URL or key=value form) replaced by "***", for
// logs and errors.
std::string RedactedUrl(absl::string_view url);

// A text[] or bigint[] literal ({"a","b"}) for an array parameter.
std::string ArrayLiteral(const std::vector<std::string>& items);
std::string ArrayLiteral(const std::vector<int64_t>& items);

// Parameters of one query, $1 first. Numbers and text go as text (the
// server converts them to the column's type), bytes as binary.
class PgParams {
 public:
  PgParams& Text(absl::string_view text);
  PgParams& Bytes(absl::string_view bytes);
  PgParams& Int(int64_t value);
  PgParams& Bool(bool value);
  PgParams& Null();

  int size() const { return static_cast<int>(values_.size()); }
  // For PQexecParams; valid while this object lives and is not changed.
  std::vector<const char*> Values() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// A query's result, in binary format. Rows and columns from 0.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  ~PgResult();

  int rows() const;
  // Rows an UPDATE, INSERT or DELETE changed.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  // text and bytea columns.
  absl::string_view Bytes(int row, int column) const;
  // smallint, integer and bigint columns; 0 for NULL.
  int64_t Int(int row, int column) const;
  bool Bool(int row, int column) const;

 private:
  PGresult* result_;
};

class PgConnection {
 public:
  // Connects to `url` (a postgresql:// URL or key=value string), waiting at
  // most `connect_timeout`. UNAVAILABLE (the server cannot be reached or
  // refused us) or INVALID_ARGUMENT (the URL does not parse), with the URL
  // shown without its password.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const std::string& url, absl::Duration connect_timeout);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One or more statements without parameters, in text: BEGIN, COMMIT,
  // schema scripts.
  absl::Status Exec(const char* sql);
  // COMMIT, and whether it committed: a transaction an error aborted
  // answers COMMIT with ROLLBACK, which is refused here (INTERNAL).
  absl::Status Commit();
  // One statement with parameters; results in binary. The first
  // kMaxPrepared distinct statements are prepared once per session and then
  // only executed (the store's statements are few and fixed, but for the
  // listings' and the event inserts' variants); later ones are parsed each
  // time.
  absl::StatusOr<PgResult> Query(const char* sql, const PgParams& params);
  absl::StatusOr<PgResult> Query(const std::string& sql,
                                 const PgParams& params) {
    return Query(sql.c_str(), params);
  }

  // Whether the connection was lost (a new one is needed).
  bool broken() const;
  // Reconnects with the same settings. UNAVAILABLE while the server is
  // still unreachable.
  absl::Status Reset();

  // The socket, for waiting on notifications (postgres_listener.h).
  int socket() const;
  PGconn* raw() { return conn_; }

 private:
  PgConnection(PGconn* conn, std::string redacted)
      : conn_(conn), redacted_url_(std::move(redacted)) {}
  // The Status for a failed result (or a null one: out of memory or a lost
  // connection).
  absl::Status ErrorOf(const PGresult* result);

  static constexpr size_t kMaxPrepared = 256;
  // The name of `sql`'s prepared statement on this connection, preparing it
  // now if need be; empty when it is not to be prepared.
  absl::StatusOr<std::string> Prepared(const char* sql, int params);

  PGconn* conn_;
  const std::string redacted_url_;
  bool lost_ = false;
  // Statement text -> its name, on this connection (cleared by Reset).
  absl::flat_hash_map<std::string, std::string> prepared_;
};

// Whether `status` says the database could not be reached (the connection
// is lost, or the server is restarting): the write's outcome is unknown
// unless it failed before COMMIT was sent.
inline bool IsConnectionTrouble(const absl::Status& status) {
  return absl::IsUnavailable(status);
}

}  // namespace corosched::server
