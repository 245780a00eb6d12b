#include "tests/client/cli_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

extern char** environ;  // NOLINT: POSIX

namespace corosched::testing {
namespace {

// The parent's environment without COROSCHED_ADDR, plus `extra`.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  env.reserve(extra.size() + 64);
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!absl::StartsWith(*entry, "COROSCHED_ADDR=")) env.push_back(*entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Appends what is readable on `*fd` to `out`; closes it (and sets -1) at
// end of file.
void Drain(int* fd, std::string* out) {
  char buffer[4096];
  const ssize_t n = read(*fd, buffer, sizeof(buffer));
  if (n > 0) {
    out->append(buffer, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close(*fd);
    *fd = -1;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<CliProcess>> CliProcess::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const std::vector<std::string>& env) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(
        absl::StrCat("pipe: ", std::generic_category().message(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);

  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<char*> envp = Pointers(env_strings);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr,
                                  argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spawned != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return absl::InternalError(absl::StrCat(
        "cannot run ", binary, ": ", std::generic_category().message(spawned)));
  }
  return std::unique_ptr<CliProcess>(
      new CliProcess(pid, out_pipe[0], err_pipe[0]));
}

CliProcess::~CliProcess() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void CliProcess::Signal(int signal) {
  if (!reaped_) kill(pid_, signal);
}

CliResult CliProcess::Wait(absl::Duration timeout) {
  CliResult result;
  const absl::Time deadline = absl::Now() + timeout;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      result.timed_out = true;
      kill(pid_, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    const int ready =
        poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) Drain(&out_fd_, &result.out);
    if (fds[1].revents != 0) Drain(&err_fd_, &result.err);
  }
  int status = 0;
  if (waitpid(pid_, &status, 0) == pid_) {
    reaped_ = true;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

CliResult RunCli(const std::string& binary,
                 const std::vector<std::string>& args, absl::Duration timeout,
                 const std::vector<std::string>& env) {
  absl::StatusOr<std::unique_ptr<CliProcess>> cli =
      CliProcess::Start(binary, args, env);
  if (!cli.ok()) {
    CliResult failed;
    failed.err = std::string(cli.status().message());
    return failed;
  }
  return (*cli)->Wait(timeout);
}

}  // namespace corosched::testing
