#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "corosched/v1/scheduler.pb.h"
#include "gtest/gtest.h"
#include "tests/client/cli_process.h"

namespace corosched::testing {

// End-to-end tests of the `corosched` tool: one real corosched-server per
// test suite on a free loopback port, and the tool run as a child process
// for every command (path from the build: COROSCHED_CLI_PATH). Tests keep
// apart by labelling their tasks with a label unique to the test.
class CliE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  // The daemon's address ("127.0.0.1:PORT").
  static const std::string& address();

  // Runs `corosched --addr <the daemon> args...`.
  CliResult Cli(const std::vector<std::string>& args,
                absl::Duration timeout = absl::Seconds(30));
  // Runs `corosched args...` exactly as given (no --addr).
  CliResult BareCli(const std::vector<std::string>& args,
                    absl::Duration timeout = absl::Seconds(30),
                    const std::vector<std::string>& env = {});
  // Starts `corosched --addr <the daemon> args...` without waiting.
  std::unique_ptr<CliProcess> StartCli(const std::vector<std::string>& args);

  // `submit` with `args`; expects exit 0 and returns the task id.
  std::string Submit(const std::vector<std::string>& args);

  // `get --output json`, parsed; fails the test when that fails.
  v1::Task GetTask(const std::string& task_id);

  // Polls `get` until the task's status is `status` (at most 15 s).
  void WaitForStatus(const std::string& task_id, v1::TaskStatus status);

  // A file under examples/.
  static std::string Example(const std::string& name);

  // Writes `contents` to a fresh file in the test's temp directory.
  std::string WriteFile(const std::string& name, const std::string& contents);

  // "run=<suite>.<test>": a label value no other test uses.
  std::string UniqueLabel() const;
};

// `text` split into lines, without the newlines and without a last empty
// one.
std::vector<std::string> Lines(const std::string& text);

// `json` (protobuf JSON) into `message`; false, with a test failure, when it
// does not parse.
bool ParseJson(const std::string& json, google::protobuf::Message* message);

// Each line of `text` as a T.
template <typename T>
std::vector<T> ParseJsonLines(const std::string& text) {
  std::vector<T> items;
  for (const std::string& line : Lines(text)) {
    T item;
    if (ParseJson(line, &item)) items.push_back(std::move(item));
  }
  return items;
}

}  // namespace corosched::testing
