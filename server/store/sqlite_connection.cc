#include "server/store/sqlite_connection.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace corosched::server {

bool IsStorageFailure(int code) {
  switch (code & 0xff) {  // the primary code of an extended one
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
    case SQLITE_CONSTRAINT:  // this write broke a rule: the write's problem
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return false;
    default:  // I/O, full disk, corruption, locks, memory, misuse
      return true;
  }
}

// --- SqliteStatement ---------------------------------------------------------

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : connection_(other.connection_),
      statement_(std::exchange(other.statement_, nullptr)),
      borrowed_(std::exchange(other.borrowed_, nullptr)),
      bind_error_(other.bind_error_) {}

SqliteStatement::~SqliteStatement() {
  if (statement_ == nullptr) return;
  if (borrowed_ == nullptr) {
    sqlite3_finalize(statement_);
    return;
  }
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  *borrowed_ = false;
}

void SqliteStatement::BindInt(int index, int64_t value) {
  int rc = sqlite3_bind_int64(statement_, index, value);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::BindText(int index, absl::string_view value) {
  int rc = sqlite3_bind_text64(statement_, index, value.data(), value.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::BindBlob(int index, absl::string_view value) {
  // A zero-length blob must still be a blob, not NULL: pass a valid pointer.
  static const char kEmpty = 0;
  const char* data = value.empty() ? &kEmpty : value.data();
  int rc = sqlite3_bind_blob64(statement_, index, data, value.size(),
                               SQLITE_TRANSIENT);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::BindNull(int index) {
  int rc = sqlite3_bind_null(statement_, index);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  if (bind_error_ != SQLITE_OK) {
    return connection_->Error(bind_error_, sqlite3_sql(statement_));
  }
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return connection_->Error(rc, sqlite3_sql(statement_));
}

absl::Status SqliteStatement::Run() {
  for (;;) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

int64_t SqliteStatement::Int(int column) const {
  return sqlite3_column_int64(statement_, column);
}

bool SqliteStatement::IsNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

absl::string_view SqliteStatement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(statement_, column);
  if (text == nullptr) return {};
  return absl::string_view(reinterpret_cast<const char*>(text),
                           sqlite3_column_bytes(statement_, column));
}

absl::string_view SqliteStatement::Blob(int column) const {
  const void* blob = sqlite3_column_blob(statement_, column);
  if (blob == nullptr) return {};
  return absl::string_view(static_cast<const char*>(blob),
                           sqlite3_column_bytes(statement_, column));
}

// --- SqliteConnection --------------------------------------------------------

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const Options& options) {
  // Once per process, before SQLite initialises: no memory statistics. With
  // them on, every allocation SQLite makes takes a process-wide mutex, and
  // the daemon reads none of them.
  static const bool configured = [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // MISUSE if too late
    return true;
  }();
  (void)configured;
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.writer) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags,
                           options.vfs.empty() ? nullptr : options.vfs.c_str());
  std::unique_ptr<SqliteConnection> connection(
      new SqliteConnection(db, options.path));
  if (rc != SQLITE_OK) {
    return connection->Error(rc, "cannot open the database");
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(
      db, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  absl::Status set = connection->Exec(
      options.writer ? "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"
                     : "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;");
  if (!set.ok()) return set;
  return connection;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, cached] : statements_) sqlite3_finalize(cached.statement);
  // sqlite3_close_v2 with every statement finalized closes at once; a null
  // handle (open failed before allocating) is a harmless no-op.
  sqlite3_close_v2(db_);
}

absl::Status SqliteConnection::Exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);  // Error() reads sqlite3_errmsg, which has it too
  if (rc != SQLITE_OK) return Error(rc, sql);
  return absl::OkStatus();
}

absl::Status SqliteConnection::Run(absl::string_view sql) {
  absl::StatusOr<SqliteStatement> statement = Prepare(sql);
  if (!statement.ok()) return statement.status();
  return statement->Run();
}

absl::StatusOr<std::string> SqliteConnection::QueryText(const char* sql) {
  absl::StatusOr<SqliteStatement> statement = Prepare(sql);
  if (!statement.ok()) return statement.status();
  absl::StatusOr<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::string();
  return std::string(statement->Text(0));
}

absl::StatusOr<int64_t> SqliteConnection::QueryInt(const char* sql) {
  absl::StatusOr<SqliteStatement> statement = Prepare(sql);
  if (!statement.ok()) return statement.status();
  absl::StatusOr<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  return *row ? statement->Int(0) : 0;
}

absl::StatusOr<SqliteStatement> SqliteConnection::Prepare(
    absl::string_view sql) {
  CachedStatement& cached = statements_[sql];
  if (cached.statement != nullptr && !cached.borrowed) {
    cached.borrowed = true;
    return SqliteStatement(this, cached.statement, &cached.borrowed);
  }
  const bool cache = cached.statement == nullptr;
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              cache ? SQLITE_PREPARE_PERSISTENT : 0, &statement,
                              nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(statement);
    if (cache) statements_.erase(sql);
    return Error(rc, sql);
  }
  if (!cache) return SqliteStatement(this, statement, nullptr);
  cached.statement = statement;
  cached.borrowed = true;
  return SqliteStatement(this, statement, &cached.borrowed);
}

absl::Status SqliteConnection::Error(int code, absl::string_view what) {
  const int primary = code & 0xff;
  std::string detail = sqlite3_errstr(code);
  if (db_ != nullptr && sqlite3_errcode(db_) == code) {
    const char* message = sqlite3_errmsg(db_);
    if (detail != message) absl::StrAppend(&detail, ": ", message);
  }
  std::string text = absl::StrCat(file_name(), ": ", what, ": ", detail,
                                  " (SQLite code ", code, ")");
  absl::Status status;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    status = absl::DataLossError(text);
  } else if (IsStorageFailure(code)) {
    status = absl::UnavailableError(text);
  } else {
    status = absl::InternalError(text);
  }
  if (IsStorageFailure(code) && storage_failure_.ok()) {
    storage_failure_ = status;
  }
  return status;
}

absl::string_view SqliteConnection::file_name() const {
  absl::string_view path = path_;
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

int64_t SqliteConnection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int SqliteConnection::changes() const { return sqlite3_changes(db_); }

}  // namespace corosched::server
