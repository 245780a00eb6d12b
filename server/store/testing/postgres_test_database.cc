#include "server/store/testing/postgres_test_database.h"

#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"

namespace corosched::server {
namespace {

// `url` (postgresql://user@host:port/db?params) naming database `name`.
std::string WithDatabase(const std::string& url, const std::string& name) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t query = url.find('?', start);
  const size_t slash = url.find('/', start);
  const std::string tail = query == std::string::npos ? "" : url.substr(query);
  const size_t end = slash != std::string::npos && slash < query
                         ? slash
                         : std::min(query, url.size());
  return absl::StrCat(url.substr(0, end), "/", name, tail);
}

}  // namespace

std::string PostgresTestDatabase::ServerUrl() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing sets the environment
  const char* url = std::getenv("COROSCHED_TEST_POSTGRES_URL");
  return url == nullptr ? "" : url;
}

PostgresTestDatabase::PostgresTestDatabase() {
  const std::string server = ServerUrl();
  if (server.empty()) {
    error_ =
        absl::FailedPreconditionError("COROSCHED_TEST_POSTGRES_URL is not set");
    return;
  }
  std::random_device random;
  name_ =
      absl::StrCat("corosched_test_",
                   absl::Hex((static_cast<uint64_t>(random()) << 32) ^ random(),
                             absl::kZeroPad16));
  auto admin = PgConnection::Connect(server, absl::Seconds(10));
  if (!admin.ok()) {
    error_ = admin.status();
    return;
  }
  const std::string create = absl::StrCat("CREATE DATABASE ", name_);
  error_ = (*admin)->Exec(create.c_str());
  if (!error_.ok()) return;
  url_ = WithDatabase(server, name_);
  auto connection = PgConnection::Connect(url_, absl::Seconds(10));
  if (!connection.ok()) {
    error_ = connection.status();
    return;
  }
  connection_ = *std::move(connection);
}

PostgresTestDatabase::~PostgresTestDatabase() {
  connection_.reset();
  if (name_.empty() || url_.empty()) return;
  auto admin = PgConnection::Connect(ServerUrl(), absl::Seconds(10));
  if (!admin.ok()) return;
  const std::string drop =
      absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)");
  (void)(*admin)->Exec(drop.c_str());  // best effort: the server goes too
}

absl::Status PostgresTestDatabase::Exec(const std::string& sql) {
  if (connection_ == nullptr) return error_;
  absl::Status done = connection_->Exec(sql.c_str());
  // Once more on a new connection after a server restart.
  if (absl::IsUnavailable(done) && connection_->Reset().ok()) {
    done = connection_->Exec(sql.c_str());
  }
  return done;
}

absl::StatusOr<std::string> PostgresTestDatabase::QueryText(
    const std::string& sql) {
  if (connection_ == nullptr) return error_;
  const std::string text = absl::StrCat("SELECT (", sql, ")::text");
  absl::StatusOr<PgResult> result = connection_->Query(text, PgParams());
  if (absl::IsUnavailable(result.status()) && connection_->Reset().ok()) {
    result = connection_->Query(text, PgParams());
  }
  if (!result.ok()) return result.status();
  if (result->rows() == 0) return absl::NotFoundError("no row");
  return std::string(result->Bytes(0, 0));
}

}  // namespace corosched::server
