#pragma once

// Test helper for the PostgreSQL store: a fresh, empty database for one test
// on the server named by COROSCHED_TEST_POSTGRES_URL (tests/testing/
// postgres.sh starts one; see server/CMakeLists.txt), dropped when the test
// ends, so that tests never see each other's rows. Also raw SQL on it, to
// set up what the store must cope with (an expired lease, a newer schema).

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/postgres_connection.h"

namespace corosched::server {

class PostgresTestDatabase {
 public:
  // The server's URL from the environment; empty when it is not set (then
  // the PostgreSQL tests are not instantiated, or skip).
  static std::string ServerUrl();

  // Creates the database; url() is empty (and error() says why) when it
  // could not.
  PostgresTestDatabase();
  ~PostgresTestDatabase();
  PostgresTestDatabase(const PostgresTestDatabase&) = delete;
  PostgresTestDatabase& operator=(const PostgresTestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const absl::Status& error() const { return error_; }
  // Runs `sql` on the test's database over a connection of the helper's
  // (reconnected once if the server restarted).
  absl::Status Exec(const std::string& sql);
  // The value of `sql` (a query of one row and one column), as text.
  absl::StatusOr<std::string> QueryText(const std::string& sql);

 private:
  std::string name_;
  std::string url_;
  absl::Status error_;
  std::unique_ptr<PgConnection> connection_;
};

}  // namespace corosched::server
