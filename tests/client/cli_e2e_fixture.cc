#include "tests/client/cli_e2e_fixture.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testing/server_process.h"

#ifndef COROSCHED_CLI_PATH
#error \
    "COROSCHED_CLI_PATH must name the corosched binary (tests/client/CMakeLists.txt)"
#endif
#ifndef COROSCHED_EXAMPLES_DIR
#error \
    "COROSCHED_EXAMPLES_DIR must name examples/ (tests/client/CMakeLists.txt)"
#endif

namespace corosched::testing {
namespace {

// The suite's daemon: started by SetUpTestSuite (on the main thread, as
// ServerProcess requires), stopped by TearDownTestSuite.
ServerProcess* suite_daemon = nullptr;

}  // namespace

void CliE2eTest::SetUpTestSuite() {
  absl::StatusOr<std::unique_ptr<ServerProcess>> daemon =
      ServerProcess::Start();
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  suite_daemon = daemon->release();
}

void CliE2eTest::TearDownTestSuite() {
  if (suite_daemon == nullptr) return;
  absl::StatusOr<int> code = suite_daemon->Stop();
  EXPECT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code.value_or(-1), 0) << suite_daemon->Stderr();
  delete suite_daemon;
  suite_daemon = nullptr;
}

void CliE2eTest::SetUp() {
  ASSERT_NE(suite_daemon, nullptr) << "the daemon did not start";
}

const std::string& CliE2eTest::address() { return suite_daemon->address(); }

CliResult CliE2eTest::Cli(const std::vector<std::string>& args,
                          absl::Duration timeout) {
  std::vector<std::string> full = {"--addr", address()};
  full.insert(full.end(), args.begin(), args.end());
  return BareCli(full, timeout);
}

CliResult CliE2eTest::BareCli(const std::vector<std::string>& args,
                              absl::Duration timeout,
                              const std::vector<std::string>& env) {
  CliResult result = RunCli(COROSCHED_CLI_PATH, args, timeout, env);
  EXPECT_FALSE(result.timed_out) << "corosched " << absl::StrJoin(args, " ")
                                 << " did not finish within " << timeout;
  return result;
}

std::unique_ptr<CliProcess> CliE2eTest::StartCli(
    const std::vector<std::string>& args) {
  std::vector<std::string> full = {"--addr", address()};
  full.insert(full.end(), args.begin(), args.end());
  absl::StatusOr<std::unique_ptr<CliProcess>> cli =
      CliProcess::Start(COROSCHED_CLI_PATH, full);
  EXPECT_TRUE(cli.ok()) << cli.status();
  return cli.ok() ? *std::move(cli) : nullptr;
}

std::string CliE2eTest::Submit(const std::vector<std::string>& args) {
  std::vector<std::string> full = {"submit"};
  full.insert(full.end(), args.begin(), args.end());
  CliResult result = Cli(full);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return std::string(absl::StripTrailingAsciiWhitespace(result.out));
}

v1::Task CliE2eTest::GetTask(const std::string& task_id) {
  CliResult result = Cli({"get", task_id, "--output", "json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  v1::Task task;
  ParseJson(result.out, &task);
  return task;
}

void CliE2eTest::WaitForStatus(const std::string& task_id,
                               v1::TaskStatus status) {
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  v1::Task task;
  while (absl::Now() < deadline) {
    task = GetTask(task_id);
    if (task.status() == status || ::testing::Test::HasFailure()) return;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ADD_FAILURE() << "task " << task_id << " is still "
                << v1::TaskStatus_Name(task.status()) << ", not "
                << v1::TaskStatus_Name(status);
}

std::string CliE2eTest::Example(const std::string& name) {
  return absl::StrCat(COROSCHED_EXAMPLES_DIR, "/", name);
}

std::string CliE2eTest::WriteFile(const std::string& name,
                                  const std::string& contents) {
  const std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat(UniqueLabel().substr(4), ".", name);
  std::ofstream(path) << contents;
  return path.string();
}

std::string CliE2eTest::UniqueLabel() const {
  const ::testing::TestInfo* test =
      ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat("run=", test->test_suite_name(), ".", test->name());
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

bool ParseJson(const std::string& json, google::protobuf::Message* message) {
  auto status = google::protobuf::util::JsonStringToMessage(json, message);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << json;
  return status.ok();
}

}  // namespace corosched::testing
