#include "tests/cluster/cluster_support.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;  // NOLINT: POSIX

namespace corosched::cluster_test {
namespace {

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// What the command wrote, read back from `path` (then removed).
std::string ReadAndRemove(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(path);
  return text.str();
}

std::string Script(const std::string& relative) {
  return absl::StrCat(COROSCHED_SOURCE_DIR, "/", relative);
}

// postgres.sh --stop-server or --start-server: on the server the test runs
// under (the PG_* variables in the test's environment name it).
absl::Status PostgresControl(const std::string& command) {
  absl::StatusOr<CommandResult> done = RunCommand(
      {Script("tests/testing/postgres.sh"), command}, absl::Seconds(90));
  if (!done.ok()) return done.status();
  if (done->exit_code != 0) {
    return absl::InternalError(absl::StrCat("postgres.sh ", command,
                                            " failed (exit ", done->exit_code,
                                            "): ", done->output));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  char output_path[] = "/tmp/corosched-command-XXXXXX";
  const int output_fd = mkstemp(output_path);
  if (output_fd < 0) return absl::InternalError("mkstemp: " + ErrnoText(errno));
  close(output_fd);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_path,
                                   O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> args = argv;
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, pointers[0], &actions, nullptr,
                                   pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    std::filesystem::remove(output_path);
    return absl::InternalError(
        absl::StrCat("cannot run ", argv[0], ": ", ErrnoText(spawned)));
  }
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return absl::DeadlineExceededError(
          absl::StrCat(absl::StrJoin(argv, " "), " still ran after ",
                       absl::FormatDuration(timeout),
                       "; its output: ", ReadAndRemove(output_path)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  CommandResult result;
  result.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.output = ReadAndRemove(output_path);
  return result;
}

absl::StatusOr<TestDatabase> TestDatabase::Create(const std::string& name) {
  const char* server_url =
      std::getenv("PG_URL");  // NOLINT(concurrency-mt-unsafe)
  if (server_url == nullptr || *server_url == '\0') {
    return absl::FailedPreconditionError(
        "PG_URL is not set: run this test under tests/testing/postgres.sh "
        "(ctest does), which starts a PostgreSQL server for it");
  }
  // Unique across the processes sharing the server and across repeats in
  // one process (--gtest_repeat), and within PostgreSQL's 63 bytes (it
  // would cut a longer name, and the URL would name another database).
  static std::atomic<int> made{0};
  const std::string database = absl::AsciiStrToLower(
      absl::StrCat(name.substr(0, 40), "_", getpid(), "_", made.fetch_add(1)));
  TestDatabase server(server_url);
  absl::StatusOr<std::string> created =
      server.Query(absl::StrCat("CREATE DATABASE ", database));
  if (!created.ok()) return created.status();
  std::string url(server_url);
  url.resize(url.rfind('/') + 1);
  return TestDatabase(url + database);
}

absl::StatusOr<std::string> TestDatabase::Query(const std::string& sql) const {
  absl::StatusOr<CommandResult> done =
      RunCommand({"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                  url_, "-c", sql},
                 absl::Seconds(60));
  if (!done.ok()) return done.status();
  if (done->exit_code != 0) {
    return absl::InternalError(absl::StrCat("psql ", sql, ": ", done->output));
  }
  return done->output;
}

absl::StatusOr<long long> TestDatabase::QueryNumber(
    const std::string& sql) const {
  absl::StatusOr<std::string> text = Query(sql);
  if (!text.ok()) return text.status();
  long long number = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &number)) {
    return absl::InternalError(
        absl::StrCat(sql, " answered ", *text, ", not a number"));
  }
  return number;
}

absl::StatusOr<CommandResult> TestDatabase::CheckEpochs() const {
  return RunCommand({"python3", Script("tests/cluster/epoch_checker.py"), url_},
                    absl::Seconds(120));
}

absl::Status PausePostgres() { return PostgresControl("--stop-server"); }
absl::Status ResumePostgres() { return PostgresControl("--start-server"); }

testing::ServerProcessOptions ClusterTest::DaemonOptions() const {
  return {.args = {"--postgres-url", database_->url(), "--lease-duration",
                   absl::StrCat(absl::ToInt64Milliseconds(Lease()), "ms"),
                   "--drain-timeout", "1s"}};
}

void ClusterTest::SetUp() {
  const std::string name =
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  absl::StatusOr<TestDatabase> database = TestDatabase::Create(name);
  ASSERT_TRUE(database.ok()) << database.status();
  database_ = std::make_unique<TestDatabase>(*std::move(database));
  // Launched together, then awaited: the three start (and migrate the
  // schema, once) at the same time, as a deployment's replicas do.
  for (int i = 0; i < kDaemons; ++i) {
    auto daemon = testing::ServerProcess::Launch(DaemonOptions());
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemons_.push_back(*std::move(daemon));
  }
  for (int i = 0; i < kDaemons; ++i) {
    absl::Status ready = daemons_[i]->WaitUntilReady(absl::Seconds(30));
    ASSERT_TRUE(ready.ok()) << "daemon " << i << ": " << ready << "\n"
                            << daemons_[i]->Stderr();
    stubs_.push_back(v1::Scheduler::NewStub(daemons_[i]->NewChannel()));
  }
}

void ClusterTest::StartDaemon(int index) {
  auto daemon = testing::ServerProcess::Start(DaemonOptions());
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  daemons_[index] = *std::move(daemon);
  stubs_[index] = v1::Scheduler::NewStub(daemons_[index]->NewChannel());
}

std::vector<v1::Scheduler::Stub*> ClusterTest::LiveStubs() {
  std::vector<v1::Scheduler::Stub*> live;
  for (size_t i = 0; i < daemons_.size(); ++i) {
    if (daemons_[i]->running()) live.push_back(stubs_[i].get());
  }
  return live;
}

void ClusterTest::ExpectEpochsHold() {
  absl::StatusOr<CommandResult> checked = database_->CheckEpochs();
  ASSERT_TRUE(checked.ok()) << checked.status();
  // Its summary (tasks and events checked) shows in every test's output.
  std::printf("%s", checked->output.c_str());
  EXPECT_EQ(checked->exit_code, 0)
      << "the epoch checker found a poll recorded twice or a stale write "
         "(exit 1), or could not read the database (exit 2):\n"
      << checked->output;
}

void ClusterTest::TearDown() {
  if (HasFailure()) {
    // What the daemons logged explains most failures of these tests: the
    // end of each log (a daemon's whole log can be long).
    for (size_t i = 0; i < daemons_.size(); ++i) {
      const std::string log = daemons_[i]->Stderr();
      std::printf(
          "--- daemon %zu (last 4000 bytes of its log) ---\n%s\n", i + 1,
          log.substr(log.size() > 4000 ? log.size() - 4000 : 0).c_str());
    }
  }
  for (size_t i = 0; i < daemons_.size(); ++i) {
    if (!daemons_[i]->running()) continue;
    absl::StatusOr<int> code = daemons_[i]->Stop();
    EXPECT_TRUE(code.ok() && *code == 0)
        << "daemon " << i << " did not drain and exit 0: "
        << (code.ok() ? absl::StrCat("exit ", *code) : code.status().ToString())
        << "\n"
        << daemons_[i]->Stderr();
  }
  // After the drains: their releases are writes the checker reads too. Not
  // when the daemons never all started (no schema: nothing to check, and
  // the start's failure is the message that matters).
  if (database_ != nullptr && stubs_.size() == kDaemons) ExpectEpochsHold();
}

}  // namespace corosched::cluster_test
