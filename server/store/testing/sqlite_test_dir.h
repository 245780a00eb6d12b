#pragma once

// Test helpers for the SQLite store: a fresh directory for one test's data
// directory, removed with everything in it when the test ends (under
// $TEST_TMPDIR when set, else /tmp, or under a directory of the caller's:
// bench/runner_bench.cc puts its store on the disk it runs from), and raw SQL
// on a database file, to set up or inspect what the store must cope with.

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace corosched::server {

class SqliteTestDir {
 public:
  SqliteTestDir() : SqliteTestDir(DefaultBase()) {}
  // A new directory inside `base` (which must exist).
  explicit SqliteTestDir(const std::string& base) {
    // mkdtemp replaces the trailing XXXXXX with a unique suffix.
    std::string pattern = base + "/corosched-store-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~SqliteTestDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  SqliteTestDir(const SqliteTestDir&) = delete;
  SqliteTestDir& operator=(const SqliteTestDir&) = delete;

  // Empty if the directory could not be made.
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  static std::string DefaultBase() {
    const char* base =
        std::getenv("TEST_TMPDIR");  // NOLINT(concurrency-mt-unsafe)
    return base != nullptr ? base : "/tmp";
  }

  std::string path_;
};

// Runs `sql` on the database at `path` through a connection of its own.
// Returns "" or SQLite's error message.
inline std::string RunSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  const bool ok =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
          SQLITE_OK &&
      sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  std::string error = ok ? "" : sqlite3_errmsg(db);
  sqlite3_close(db);
  return error;
}

// The first column of the first row of `sql`, or -1.
inline int64_t QuerySqlInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* statement = nullptr;
  int64_t value = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW) {
    value = sqlite3_column_int64(statement, 0);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

}  // namespace corosched::server
