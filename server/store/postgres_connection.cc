#include "server/store/postgres_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace corosched::server {
namespace {

// libpq prints notices ("relation already exists, skipping") to stderr.
void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

// SQLSTATE classes that mean "try again later", not "this is wrong": 08
// connection exception, 53 insufficient resources (too many connections),
// 57P0x the server shutting down or starting.
bool IsTransient(absl::string_view sqlstate) {
  return absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "53") ||
         absl::StartsWith(sqlstate, "57P");
}

// libpq's messages end with a newline.
std::string Trimmed(const char* message) {
  return std::string(
      absl::StripTrailingAsciiWhitespace(message == nullptr ? "" : message));
}

}  // namespace

std::string RedactedUrl(absl::string_view url) {
  std::string out(url);
  // URL form: scheme://user:password@host...
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t at = out.find('@', start);
    const size_t colon = out.find(':', start);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // Key=value form, and a URL's ?password= parameter.
  for (const char* key : {"password=", "PASSWORD="}) {
    size_t found = 0;
    while ((found = out.find(key, found)) != std::string::npos) {
      const size_t value = found + std::strlen(key);
      size_t end = value;
      while (end < out.size() && out[end] != ' ' && out[end] != '&') ++end;
      out.replace(value, end - value, "***");
      found = value + 3;
    }
  }
  return out;
}

std::string ArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string ArrayLiteral(const std::vector<int64_t>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, items[i]);
  }
  out += '}';
  return out;
}

// --- PgParams ----------------------------------------------------------------

PgParams& PgParams::Text(absl::string_view text) {
  values_.emplace_back(text);
  null_.push_back(false);
  lengths_.push_back(static_cast<int>(text.size()));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Bytes(absl::string_view bytes) {
  Text(bytes);
  formats_.back() = 1;  // binary: bytea's binary form is the bytes
  return *this;
}

PgParams& PgParams::Int(int64_t value) { return Text(absl::StrCat(value)); }

PgParams& PgParams::Bool(bool value) { return Text(value ? "t" : "f"); }

PgParams& PgParams::Null() {
  Text("");
  null_.back() = true;
  return *this;
}

std::vector<const char*> PgParams::Values() const {
  std::vector<const char*> values;
  values.reserve(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) {
    values.push_back(null_[i] ? nullptr : values_[i].data());
  }
  return values;
}

// --- PgResult ----------------------------------------------------------------

PgResult::PgResult(PgResult&& other) noexcept
    : result_(std::exchange(other.result_, nullptr)) {}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}

int PgResult::rows() const { return PQntuples(result_); }

int64_t PgResult::affected() const {
  const char* count = PQcmdTuples(result_);
  return count == nullptr || *count == '\0' ? 0 : std::atoll(count);
}

bool PgResult::IsNull(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

absl::string_view PgResult::Bytes(int row, int column) const {
  return absl::string_view(PQgetvalue(result_, row, column),
                           PQgetlength(result_, row, column));
}

int64_t PgResult::Int(int row, int column) const {
  if (IsNull(row, column)) return 0;
  // Binary integers are big-endian, 2, 4 or 8 bytes.
  absl::string_view bytes = Bytes(row, column);
  uint64_t value = 0;
  for (unsigned char c : bytes) value = (value << 8) | c;
  switch (bytes.size()) {
    case 2:
      return static_cast<int16_t>(value);
    case 4:
      return static_cast<int32_t>(value);
    default:
      return static_cast<int64_t>(value);
  }
}

bool PgResult::Bool(int row, int column) const {
  absl::string_view bytes = Bytes(row, column);
  return !bytes.empty() && bytes[0] != 0;
}

// --- PgConnection ------------------------------------------------------------

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& url, absl::Duration connect_timeout) {
  const std::string timeout =
      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(connect_timeout)));
  // Defaults first; the URL's own settings come last and win. GSSAPI
  // encryption is off unless the URL asks for it (gssencmode=prefer): the
  // probe for Kerberos credentials costs every connect for nothing on the
  // usual password, certificate or trust setups.
  const char* keywords[] = {"connect_timeout", "application_name", "gssencmode",
                            "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "corosched-server", "disable",
                          url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("out of memory for a connection");
  }
  std::unique_ptr<PgConnection> connection(
      new PgConnection(conn, RedactedUrl(url)));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = Trimmed(PQerrorMessage(conn));
    const bool bad_url = absl::StrContains(reason, "invalid") ||
                         absl::StrContains(reason, "missing");
    const std::string message =
        absl::StrCat("cannot connect to PostgreSQL at ",
                     connection->redacted_url_, ": ", reason);
    return bad_url ? absl::InvalidArgumentError(message)
                   : absl::UnavailableError(message);
  }
  PQsetNoticeProcessor(conn, &IgnoreNotice, nullptr);
  return connection;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::broken() const {
  return lost_ || PQstatus(conn_) != CONNECTION_OK;
}

absl::Status PgConnection::Reset() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot reconnect to PostgreSQL at ", redacted_url_, ": ",
                     Trimmed(PQerrorMessage(conn_))));
  }
  lost_ = false;
  prepared_.clear();  // a new session has none
  PQsetNoticeProcessor(conn_, &IgnoreNotice, nullptr);
  return absl::OkStatus();
}

int PgConnection::socket() const { return PQsocket(conn_); }

absl::Status PgConnection::ErrorOf(const PGresult* result) {
  if (result == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    lost_ = true;
    return absl::UnavailableError(
        absl::StrCat("lost the connection to PostgreSQL at ", redacted_url_,
                     ": ", Trimmed(PQerrorMessage(conn_))));
  }
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state == nullptr ? "" : state;
  // The primary message only: the detail and the statement may echo values.
  const std::string message =
      absl::StrCat("PostgreSQL: ",
                   Trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)),
                   " (SQLSTATE ", sqlstate, ")");
  if (IsTransient(sqlstate)) {
    lost_ = true;  // the server is going away: start over on a new session
    return absl::UnavailableError(message);
  }
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return absl::AbortedError(message);
  }
  return absl::InternalError(message);
}

absl::Status PgConnection::Exec(const char* sql) {
  PGresult* raw = PQexec(conn_, sql);
  const ExecStatusType status =
      raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  absl::Status outcome = absl::OkStatus();
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    outcome = ErrorOf(raw);
  }
  if (raw != nullptr) PQclear(raw);
  return outcome;
}

absl::Status PgConnection::Commit() {
  PGresult* raw = PQexec(conn_, "COMMIT");
  const ExecStatusType status =
      raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  absl::Status outcome = absl::OkStatus();
  if (status != PGRES_COMMAND_OK) {
    outcome = ErrorOf(raw);
  } else if (absl::string_view(PQcmdStatus(raw)) != "COMMIT") {
    outcome = absl::InternalError(
        "PostgreSQL rolled the transaction back instead of committing it");
  }
  if (raw != nullptr) PQclear(raw);
  return outcome;
}

absl::StatusOr<std::string> PgConnection::Prepared(const char* sql,
                                                   int params) {
  if (auto it = prepared_.find(sql); it != prepared_.end()) return it->second;
  if (prepared_.size() >= kMaxPrepared) return std::string();
  std::string name = absl::StrCat("corosched_", prepared_.size());
  PGresult* raw = PQprepare(conn_, name.c_str(), sql, params,
                            /*paramTypes=*/nullptr);
  const bool ok = raw != nullptr && PQresultStatus(raw) == PGRES_COMMAND_OK;
  absl::Status error = ok ? absl::OkStatus() : ErrorOf(raw);
  if (raw != nullptr) PQclear(raw);
  if (!error.ok()) return error;
  prepared_.emplace(sql, name);
  return name;
}

absl::StatusOr<PgResult> PgConnection::Query(const char* sql,
                                             const PgParams& params) {
  absl::StatusOr<std::string> name = Prepared(sql, params.size());
  if (!name.ok()) return name.status();
  const std::vector<const char*> values = params.Values();
  PGresult* raw =
      name->empty()
          ? PQexecParams(conn_, sql, params.size(), /*paramTypes=*/nullptr,
                         values.data(), params.lengths(), params.formats(),
                         /*resultFormat=*/1)
          : PQexecPrepared(conn_, name->c_str(), params.size(), values.data(),
                           params.lengths(), params.formats(),
                           /*resultFormat=*/1);
  const ExecStatusType status =
      raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    absl::Status error = ErrorOf(raw);
    if (raw != nullptr) PQclear(raw);
    return error;
  }
  return PgResult(raw);
}

}  // namespace corosched::server
