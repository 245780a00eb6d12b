#include "client/cli/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

using ::testing::HasSubstr;

ChildOptions Shell(const std::string& script) {
  return ChildOptions{.argv = {"/bin/sh", "-c", script},
                      .stderr_passthrough_fd = -1};
}

ChildOutcome RunToEnd(const ChildOptions& options) {
  auto child = ChildProcess::Start(options);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  absl::StatusOr<ChildOutcome> outcome = (*child)->Wait();
  EXPECT_TRUE(outcome.ok()) << outcome.status();
  return outcome.ok() ? *outcome : ChildOutcome{};
}

// A pipe whose write end a child's stderr is passed on to, read line by line
// (blocking) by the test.
class StderrLines {
 public:
  StderrLines() { EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0); }
  ~StderrLines() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  StderrLines(const StderrLines&) = delete;
  StderrLines& operator=(const StderrLines&) = delete;

  int fd() const { return fds_[1]; }
  // The next line, without its '\n'; waits for it.
  std::string NextLine() {
    std::string line;
    char c = 0;
    while (::read(fds_[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    return line;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Reaps `pid`, an orphan handed to this process as a child subreaper, and
// returns the signal that ended it (0 when it exited).
int ReapOrphan(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

pid_t ParsePid(const std::string& text) {
  pid_t pid = 0;
  EXPECT_TRUE(absl::SimpleAtoi(text, &pid)) << text;
  return pid;
}

TEST(ChildProcessTest, ReportsTheExitCode) {
  ChildOutcome outcome = RunToEnd(Shell("exit 3"));
  EXPECT_TRUE(outcome.exited);
  EXPECT_EQ(outcome.exit_code, 3);
  EXPECT_FALSE(outcome.killed);
}

TEST(ChildProcessTest, FeedsStdinAndCapturesStdout) {
  ChildOptions options = Shell("cat");
  options.stdin_data = R"({"job": "a1"})";
  ChildOutcome outcome = RunToEnd(options);
  EXPECT_TRUE(outcome.exited);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.stdout_data, R"({"job": "a1"})");
  EXPECT_FALSE(outcome.stdout_overflowed);
}

TEST(ChildProcessTest, MovesMoreThanAPipeHoldsBothWays) {
  ChildOptions options = Shell("cat");
  options.stdin_data = std::string(3 << 20, 'x');
  options.stdout_limit = 4 << 20;
  ChildOutcome outcome = RunToEnd(options);
  EXPECT_EQ(outcome.stdout_data.size(), options.stdin_data.size());
  EXPECT_EQ(outcome.stdout_data, options.stdin_data);
}

TEST(ChildProcessTest, AChildThatIgnoresStdinIsNoError) {
  ChildOptions options = Shell("echo done");
  options.stdin_data = std::string(1 << 20, 'x');
  ChildOutcome outcome = RunToEnd(options);
  EXPECT_TRUE(outcome.exited);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.stdout_data, "done\n");
}

TEST(ChildProcessTest, StdoutPastTheLimitIsCutAndFlagged) {
  ChildOptions options = Shell("head -c 300000 /dev/zero");
  options.stdout_limit = 1000;
  ChildOutcome outcome = RunToEnd(options);
  EXPECT_TRUE(outcome.exited);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.stdout_data.size(), 1000);
  EXPECT_TRUE(outcome.stdout_overflowed);
}

TEST(ChildProcessTest, StdoutAtTheLimitIsWhole) {
  ChildOptions options = Shell("head -c 1000 /dev/zero");
  options.stdout_limit = 1000;
  ChildOutcome outcome = RunToEnd(options);
  EXPECT_EQ(outcome.stdout_data.size(), 1000);
  EXPECT_FALSE(outcome.stdout_overflowed);
}

TEST(ChildProcessTest, KeepsTheLastStderrLineAndPassesStderrOn) {
  StderrLines passed;
  ChildOptions options = Shell("echo working >&2; echo boom >&2; exit 1");
  options.stderr_passthrough_fd = passed.fd();
  options.stderr_prefix = "[t1] ";
  ChildOutcome outcome = RunToEnd(options);
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_EQ(outcome.last_stderr_line, "boom");
  EXPECT_EQ(passed.NextLine(), "[t1] working");
  EXPECT_EQ(passed.NextLine(), "[t1] boom");
}

TEST(ChildProcessTest, SetsTheExtraEnvironment) {
  ChildOptions options = Shell(
      R"(printf '%s %s %s' "$COROSCHED_TASK_ID" "$COROSCHED_ATTEMPT" "$PATH")");
  // PATH is ours too: the extra value replaces it.
  options.env = {{"COROSCHED_TASK_ID", "t-1"},
                 {"COROSCHED_ATTEMPT", "2"},
                 {"PATH", "/replaced:/bin"}};
  ChildOutcome outcome = RunToEnd(options);
  EXPECT_EQ(outcome.stdout_data, "t-1 2 /replaced:/bin");
}

TEST(ChildProcessTest, FindsTheProgramInPath) {
  ChildOutcome outcome = RunToEnd(ChildOptions{.argv = {"sh", "-c", "echo $0"},
                                               .stderr_passthrough_fd = -1});
  EXPECT_EQ(outcome.stdout_data, "sh\n");
}

TEST(ChildProcessTest, AMissingProgramIsNotFound) {
  auto child =
      ChildProcess::Start(ChildOptions{.argv = {"corosched-no-such-program"}});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(child.status().message(),
              HasSubstr("corosched-no-such-program: not found in $PATH"));
  EXPECT_EQ(ChildProcess::Start(ChildOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChildProcessTest, KillEndsTheChildAndWhatItStarted) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  StderrLines passed;
  ChildOptions options = Shell("sleep 1000 & echo $! >&2; wait");
  options.stderr_passthrough_fd = passed.fd();
  auto child = ChildProcess::Start(options);
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<ChildOutcome> outcome;
  std::thread waiter([&] { outcome = (*child)->Wait(); });
  // The shell has started its background sleep once it printed its pid.
  const pid_t sleeper = ParsePid(passed.NextLine());
  (*child)->Kill(absl::Hours(1));
  waiter.join();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_FALSE(outcome->exited);
  EXPECT_EQ(outcome->term_signal, SIGTERM);
  EXPECT_TRUE(outcome->killed);
  EXPECT_EQ(ReapOrphan(sleeper), SIGTERM);
  (*child)->Kill(absl::ZeroDuration());  // after the end: nothing happens
}

TEST(ChildProcessTest, KillSendsSigkillAfterTheGrace) {
  StderrLines passed;
  ChildOptions options = Shell("trap '' TERM; echo ready >&2; exec sleep 1000");
  options.stderr_passthrough_fd = passed.fd();
  auto child = ChildProcess::Start(options);
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<ChildOutcome> outcome;
  std::thread waiter([&] { outcome = (*child)->Wait(); });
  ASSERT_EQ(passed.NextLine(), "ready");
  (*child)->Kill(absl::Milliseconds(1));
  waiter.join();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->term_signal, SIGKILL);
  EXPECT_TRUE(outcome->killed);
}

TEST(ChildProcessTest, KillBeforeWaitIsKept) {
  auto child = ChildProcess::Start(Shell("exec sleep 1000"));
  ASSERT_TRUE(child.ok()) << child.status();
  (*child)->Kill(absl::ZeroDuration());
  absl::StatusOr<ChildOutcome> outcome = (*child)->Wait();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->term_signal, SIGKILL);
  EXPECT_TRUE(outcome->killed);
}

TEST(ChildProcessTest, WhatTheChildLeftRunningDiesWithIt) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  ChildOutcome outcome =
      RunToEnd(Shell("sleep 1000 >/dev/null 2>&1 & echo $!; exit 0"));
  EXPECT_EQ(outcome.exit_code, 0);
  std::string pid = outcome.stdout_data;
  if (!pid.empty() && pid.back() == '\n') pid.pop_back();
  EXPECT_EQ(ReapOrphan(ParsePid(pid)), SIGKILL);
}

TEST(ChildProcessTest, DestroyingARunningChildKillsAndReapsIt) {
  pid_t pid = 0;
  {
    auto child = ChildProcess::Start(Shell("exec sleep 1000"));
    ASSERT_TRUE(child.ok()) << child.status();
    pid = (*child)->pid();
  }
  // Reaped, so the pid names no process of ours any more.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace corosched::cli
