#include "bench/peers/corosched/worker_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX

namespace corosched::peers {
namespace {

// strerror, without its thread-unsafe buffer.
std::string ErrorText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", ErrorText(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerChild>> WorkerChild::Start(
    const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("no worker command");
  int to_child[2];
  int from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) return Errno("pipe2");
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return Errno("pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears O_CLOEXEC on the copies, so only these two reach the child.
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(to_child[0]);
  close(from_child[1]);
  if (spawned != 0) {
    close(to_child[1]);
    close(from_child[0]);
    return absl::InternalError(
        absl::StrCat("cannot start ", argv[0], ": ", ErrorText(spawned)));
  }
  return std::unique_ptr<WorkerChild>(
      new WorkerChild(pid, to_child[1], from_child[0]));
}

WorkerChild::~WorkerChild() {
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
  if (!reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

absl::Status WorkerChild::WriteLine(absl::string_view line) {
  const std::string text = absl::StrCat(line, "\n");
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n =
        write(to_child_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("writing to the worker");
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> WorkerChild::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (const size_t end = buffered_.find('\n'); end != std::string::npos) {
      std::string line = buffered_.substr(0, end);
      buffered_.erase(0, end + 1);
      return line;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("the worker (pid ", pid_, ") said nothing for ",
                       absl::FormatDuration(timeout)));
    }
    pollfd fd{.fd = from_child_, .events = POLLIN, .revents = 0};
    const int ready =
        poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Errno("poll");
    if (ready == 0) continue;
    char chunk[4096];
    const ssize_t n = read(from_child_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("reading from the worker");
    if (n == 0) {
      return absl::UnavailableError(absl::StrCat(
          "the worker (pid ", pid_, ") exited; its stderr is above"));
    }
    buffered_.append(chunk, static_cast<size_t>(n));
  }
}

absl::StatusOr<int> WorkerChild::Wait(absl::Duration timeout) {
  if (reaped_) return absl::FailedPreconditionError("already waited for");
  if (to_child_ >= 0) {
    close(to_child_);
    to_child_ = -1;
  }
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (done < 0 && errno != EINTR) return Errno("waitpid");
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      reaped_ = true;
      return absl::InternalError(absl::StrCat("the worker did not exit within ",
                                              absl::FormatDuration(timeout),
                                              "; killed"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  reaped_ = true;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return absl::InternalError(
      absl::StrCat("the worker died of signal ", WTERMSIG(status)));
}

}  // namespace corosched::peers
