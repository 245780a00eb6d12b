#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

extern char** environ;  // NOLINT: POSIX

namespace corosched::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

std::string ErrnoText() {
  return std::error_code(errno, std::generic_category()).message();
}

std::string TempRoot() {
  const char* dir =
      std::getenv("TEST_TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

// The test's environment with `overrides` replacing or adding variables.
std::vector<std::string> Environment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  env.reserve(overrides.size() + 64);
  for (char** entry = environ; *entry != nullptr; ++entry) {
    absl::string_view text(*entry);
    bool overridden = false;
    for (const auto& [name, value] : overrides) {
      overridden = overridden || absl::StartsWith(text, name + "=");
    }
    if (!overridden) env.emplace_back(text);
  }
  for (const auto& [name, value] : overrides) {
    env.push_back(absl::StrCat(name, "=", value));
  }
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void ExecDaemon(pid_t parent, int stdin_fd, int output_fd,
                             char* const* argv, char* const* envp) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  // A process group of its own, so Kill() also reaches a daemon run under
  // a command prefix (strace), which the prefix's death would not end.
  setpgid(0, 0);
  dup2(stdin_fd, STDIN_FILENO);
  dup2(output_fd, STDOUT_FILENO);
  dup2(output_fd, STDERR_FILENO);
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGTERM, &default_action, nullptr);
  sigaction(SIGINT, &default_action, nullptr);
  execve(argv[0], argv, envp);
  _exit(127);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Launch(
    ServerProcessOptions options) {
  std::string dir = TempRoot() + "/corosched-server-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp in ", TempRoot(), ": ", ErrnoText()));
  }
  // The daemon's default store (--durability=sync) in a directory of its
  // own; a test that restarts a daemon on the same data passes --data-dir.
  std::vector<std::string> args = options.command_prefix;
  for (const char* arg : {COROSCHED_SERVER_PATH, "--listen"}) {
    args.emplace_back(arg);
  }
  args.insert(args.end(), {options.listen, "--ready-file", dir + "/ready",
                           "--data-dir", dir + "/data"});
  args.push_back("--metrics-listen=" + options.metrics_listen);
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::vector<std::string> env = Environment(options.env);
  std::vector<char*> argv = Pointers(args);
  std::vector<char*> envp = Pointers(env);

  const std::string output = dir + "/stderr";
  const int output_fd =
      open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (output_fd < 0 || stdin_fd < 0) {
    return absl::InternalError(
        absl::StrCat("open ", output, ": ", ErrnoText()));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0)
    ExecDaemon(parent, stdin_fd, output_fd, argv.data(), envp.data());
  const std::string fork_error = ErrnoText();
  // Also here: whichever of the two runs first, the group exists before
  // Kill() can signal it.
  if (pid > 0) setpgid(pid, pid);
  close(output_fd);
  close(stdin_fd);
  if (pid < 0) return absl::InternalError("fork: " + fork_error);
  return std::unique_ptr<ServerProcess>(new ServerProcess(dir, pid));
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    ServerProcessOptions options) {
  const absl::Duration timeout = options.start_timeout;
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      Launch(std::move(options));
  if (!server.ok()) return server.status();
  absl::Status ready = (*server)->WaitUntilReady(timeout);
  if (!ready.ok()) return ready;  // the destructor kills the daemon
  return server;
}

ServerProcess::~ServerProcess() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status ServerProcess::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::ifstream ready(ReadyFile());
    std::string line;
    // Written whole, then renamed into place: every line is there at once.
    if (ready && std::getline(ready, line) && !line.empty()) {
      address_ = std::string(absl::StripAsciiWhitespace(line));
      while (std::getline(ready, line)) {
        absl::string_view rest = absl::StripAsciiWhitespace(line);
        if (absl::ConsumePrefix(&rest, "metrics=")) {
          metrics_address_ = std::string(rest);
        }
      }
      return absl::OkStatus();
    }
    if (Reap(/*block=*/false)) {
      return absl::FailedPreconditionError(
          absl::StrCat("corosched-server exited with ", *exit_code_,
                       " before it was ready; its stderr:\n", Stderr()));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "corosched-server was not ready after ",
          absl::FormatDuration(timeout), "; its stderr:\n", Stderr()));
    }
    absl::SleepFor(kPollInterval);
  }
}

std::shared_ptr<grpc::Channel> ServerProcess::NewChannel() const {
  return grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
}

void ServerProcess::Signal(int signal) {
  if (!exit_code_.has_value()) kill(pid_, signal);
}

bool ServerProcess::Reap(bool block) {
  if (exit_code_.has_value()) return true;
  int status = 0;
  pid_t reaped;
  do {
    reaped = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped != pid_) return false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

absl::StatusOr<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Reap(/*block=*/false)) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "corosched-server still runs after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(kPollInterval);
  }
  return *exit_code_;
}

absl::StatusOr<int> ServerProcess::Stop(absl::Duration timeout) {
  Signal(SIGTERM);
  return WaitForExit(timeout);
}

void ServerProcess::Kill() {
  // The whole group: the daemon, and a prefix command's children with it.
  if (!exit_code_.has_value()) kill(-pid_, SIGKILL);
  Reap(/*block=*/true);
}

bool ServerProcess::running() { return !Reap(/*block=*/false); }

std::string ServerProcess::Stderr() const {
  std::ifstream in(dir_ + "/stderr");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace corosched::testing
