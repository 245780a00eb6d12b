#pragma once

// Helpers for the end-to-end tests of several daemons on one PostgreSQL:
// a database of the test's own on the server tests/testing/postgres.sh
// started (PG_URL), that server's outage, the epoch checker, and a fixture
// that runs three daemons on the database.
//
// Every wait is bounded and every failure message says what was expected.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace corosched::cluster_test {

struct CommandResult {
  int exit_code = -1;
  // stdout and stderr together.
  std::string output;
};

// Runs `argv` (argv[0] looked up in PATH) with the test's environment and
// waits for it to exit, killing it after `timeout`. An error only when it
// could not be started or timed out; a non-zero exit is a result.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout);

// A database of its own on the PostgreSQL server of PG_URL.
class TestDatabase {
 public:
  // CREATE DATABASE `name` (letters, digits and `_`; cut to 40 and made
  // unique with the process id and a count). FAILED_PRECONDITION when PG_URL is
  // not set: the test is not running under tests/testing/postgres.sh.
  static absl::StatusOr<TestDatabase> Create(const std::string& name);

  // postgresql://USER@HOST:PORT/NAME, for --postgres-url.
  const std::string& url() const { return url_; }

  // Runs `sql` with psql; its rows, one a line, fields separated by '|'.
  absl::StatusOr<std::string> Query(const std::string& sql) const;
  // A query answering one whole number.
  absl::StatusOr<long long> QueryNumber(const std::string& sql) const;

  // tests/cluster/epoch_checker.py on this database.
  absl::StatusOr<CommandResult> CheckEpochs() const;

 private:
  explicit TestDatabase(std::string url) : url_(std::move(url)) {}
  std::string url_;
};

// The outage of the whole server (every test database on it): postgres.sh
// --stop-server (fast shutdown, data kept) and --start-server (the same
// port). Both return once done.
absl::Status PausePostgres();
absl::Status ResumePostgres();

// Three daemons on one fresh database, with a short lease (Lease()), a
// short drain and stubs to each. TearDown stops the daemons still running
// and runs the epoch checker on the database: every test is checked for a
// poll recorded twice, whatever else it checks.
class ClusterTest : public ::testing::Test {
 protected:
  static constexpr int kDaemons = 3;

  void SetUp() override;
  void TearDown() override;
  // The lease (--lease-duration) the daemons run with.
  virtual absl::Duration Lease() const { return absl::Seconds(2); }

  // Starts daemon `index` again (after it was killed or drained).
  void StartDaemon(int index);
  // The stubs of the daemons still running.
  std::vector<v1::Scheduler::Stub*> LiveStubs();
  // Runs the epoch checker (ASSERTs it passes, with its report).
  void ExpectEpochsHold();

  std::unique_ptr<TestDatabase> database_;
  std::vector<std::unique_ptr<testing::ServerProcess>> daemons_;
  std::vector<std::shared_ptr<v1::Scheduler::Stub>> stubs_;

 private:
  testing::ServerProcessOptions DaemonOptions() const;
};

}  // namespace corosched::cluster_test
