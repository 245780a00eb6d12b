#include "client/cli/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "client/cli/find_program.h"
#include "client/cli/stderr_relay.h"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX's name

namespace corosched::cli {
namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;

absl::Status ErrnoError(absl::string_view what, int error) {
  return absl::InternalError(
      absl::StrCat(what, ": ", std::generic_category().message(error)));
}

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

// A child that closes its stdin early must give us EPIPE, not end us.
void IgnoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action = {};
    ::sigaction(SIGPIPE, nullptr, &action);
    if (action.sa_handler == SIG_DFL) {  // NOLINT: a C union member
      action.sa_handler = SIG_IGN;       // NOLINT: a C union member
      ::sigaction(SIGPIPE, &action, nullptr);
    }
  });
}

// Our environment with `extra` set on top, as "NAME=value" strings.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::map<std::string, std::string, std::less<>> merged;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view text(*entry);
    const size_t equals = text.find('=');
    if (equals == absl::string_view::npos) continue;
    merged.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  for (const auto& [name, value] : extra) merged[name] = value;
  std::vector<std::string> env;
  env.reserve(merged.size());
  for (const auto& [name, value] : merged) {
    env.push_back(absl::StrCat(name, "=", value));
  }
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

// glibc 2.36's <sys/pidfd.h> declares pidfd_open without C linkage, so
// C++ cannot link against it; the system call is the same.
int PidfdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace

// The child's three pipes, from our side, and what goes through them.
class ChildProcess::Io {
 public:
  Io(const ChildOptions& options, int stdin_fd, int stdout_fd, int stderr_fd)
      : stdin_data_(options.stdin_data),
        stdout_limit_(options.stdout_limit),
        stdin_fd_(stdin_fd),
        stdout_fd_(stdout_fd),
        stderr_fd_(stderr_fd),
        stderr_(options.stderr_passthrough_fd, options.stderr_prefix,
                options.stderr_line_limit) {
    if (stdin_data_.empty()) CloseFd(&stdin_fd_);
  }

  ~Io() {
    CloseFd(&stdin_fd_);
    CloseFd(&stdout_fd_);
    CloseFd(&stderr_fd_);
  }

  Io(const Io&) = delete;
  Io& operator=(const Io&) = delete;

  // The pipes still open, for poll(2): stdin for writing, the others for
  // reading.
  void AddPollFds(std::vector<pollfd>* fds) const {
    if (stdin_fd_ >= 0) fds->push_back({stdin_fd_, POLLOUT, 0});
    if (stdout_fd_ >= 0) fds->push_back({stdout_fd_, POLLIN, 0});
    if (stderr_fd_ >= 0) fds->push_back({stderr_fd_, POLLIN, 0});
  }

  // Moves what poll said is ready.
  void Service(const std::vector<pollfd>& fds) {
    for (const pollfd& fd : fds) {
      if (fd.revents == 0) continue;
      if (fd.fd == stdin_fd_) WriteStdin();
      if (fd.fd == stdout_fd_) ReadOutput(&stdout_fd_);
      if (fd.fd == stderr_fd_) ReadOutput(&stderr_fd_);
    }
  }

  // The child has exited: takes what is left in the pipes without waiting
  // for an end of file that a leftover grandchild could hold back.
  void Drain() {
    CloseFd(&stdin_fd_);
    for (int* fd : {&stdout_fd_, &stderr_fd_}) {
      if (*fd < 0) continue;
      ::fcntl(*fd, F_SETFL, ::fcntl(*fd, F_GETFL) | O_NONBLOCK);
      while (*fd >= 0 && ReadOutput(fd)) {
      }
      CloseFd(fd);
    }
    stderr_.Finish();
  }

  void Fill(ChildOutcome* outcome) {
    outcome->stdout_data = std::move(stdout_);
    outcome->stdout_overflowed = stdout_overflowed_;
    outcome->last_stderr_line = stderr_.last_line();
  }

 private:
  void WriteStdin() {
    const absl::string_view rest =
        absl::string_view(stdin_data_).substr(stdin_written_);
    const ssize_t written = ::write(stdin_fd_, rest.data(), rest.size());
    if (written < 0 && (errno == EINTR || errno == EAGAIN)) return;
    // EPIPE or another error: the child does not want the rest.
    if (written < 0) return CloseFd(&stdin_fd_);
    stdin_written_ += static_cast<size_t>(written);
    if (stdin_written_ == stdin_data_.size()) CloseFd(&stdin_fd_);
  }

  // Reads one chunk; false at end of file, on an error or when nothing is
  // there (a non-blocking pipe), closing the pipe for the first two.
  bool ReadOutput(int* fd) {
    char buffer[kReadChunk];
    const ssize_t got = ::read(*fd, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) return true;
    if (got < 0 && errno == EAGAIN) return false;
    if (got <= 0) {
      CloseFd(fd);
      return false;
    }
    const absl::string_view bytes(buffer, static_cast<size_t>(got));
    if (fd == &stderr_fd_) {
      stderr_.Append(bytes);
    } else if (stdout_.size() + bytes.size() <= stdout_limit_) {
      absl::StrAppend(&stdout_, bytes);
    } else {
      absl::StrAppend(&stdout_,
                      bytes.substr(0, stdout_limit_ - stdout_.size()));
      stdout_overflowed_ = true;
    }
    return true;
  }

  const std::string stdin_data_;
  const size_t stdout_limit_;
  size_t stdin_written_ = 0;
  int stdin_fd_;
  int stdout_fd_;
  int stderr_fd_;
  std::string stdout_;
  bool stdout_overflowed_ = false;
  StderrRelay stderr_;
};

// Both ends of the three pipes; closes whatever is still open.
struct ChildProcess::Pipes {
  int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};

  ~Pipes() {
    for (auto& pipe : fds) {
      CloseFd(&pipe[0]);
      CloseFd(&pipe[1]);
    }
  }

  absl::Status Open() {
    for (auto& pipe : fds) {
      if (::pipe2(pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
    }
    // We write stdin without blocking: a child that never reads it must not
    // stop us reading its stdout.
    ::fcntl(fds[0][1], F_SETFL, O_NONBLOCK);
    return absl::OkStatus();
  }
  // Our end of the child's fd `child_fd` (0, 1, 2), now ours to close.
  int Take(int child_fd) {
    const int ours = child_fd == 0 ? fds[0][1] : fds[child_fd][0];
    (child_fd == 0 ? fds[0][1] : fds[child_fd][0]) = -1;
    return ours;
  }
};

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const ChildOptions& options) {
  if (options.argv.empty()) {
    return absl::InvalidArgumentError("no program to run (argv is empty)");
  }
  IgnoreSigpipe();
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing in this program setenv()s
  const char* path_env = std::getenv("PATH");
  absl::StatusOr<std::string> program = FindProgram(
      options.argv[0], path_env != nullptr ? path_env : "/usr/bin:/bin");
  if (!program.ok()) return program.status();

  Pipes pipes;
  if (absl::Status opened = pipes.Open(); !opened.ok()) return opened;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipes.fds[0][0], 0);
  posix_spawn_file_actions_adddup2(&actions, pipes.fds[1][1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipes.fds[2][1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP |
                                            POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv = options.argv;
  std::vector<std::string> env = ChildEnvironment(options.env);
  std::vector<char*> argv_pointers = CStrings(argv);
  std::vector<char*> env_pointers = CStrings(env);
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, program->c_str(), &actions, &attributes,
                    argv_pointers.data(), env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    return ErrnoError(absl::StrCat("starting ", *program), spawned);
  }
  // The child is ours until we reap it, so its pid cannot be reused before
  // pidfd_open.
  const int pidfd = PidfdOpen(pid);
  const int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (pidfd < 0 || wake_fd < 0) {
    const int error = errno;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (pidfd >= 0) ::close(pidfd);
    if (wake_fd >= 0) ::close(wake_fd);
    return ErrnoError("pidfd_open or eventfd", error);
  }
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, pidfd, wake_fd, options, pipes.Take(0),
                       pipes.Take(1), pipes.Take(2)));
}

ChildProcess::ChildProcess(pid_t pid, int pidfd, int wake_fd,
                           const ChildOptions& options, int stdin_fd,
                           int stdout_fd, int stderr_fd)
    : pid_(pid),
      pidfd_(pidfd),
      wake_fd_(wake_fd),
      io_(std::make_unique<Io>(options, stdin_fd, stdout_fd, stderr_fd)) {}

ChildProcess::~ChildProcess() {
  bool reaped = false;
  {
    absl::MutexLock lock(&mu_);
    reaped = reaped_;
    if (!reaped) SignalGroup(SIGKILL);
  }
  if (!reaped) {
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  ::close(pidfd_);
  ::close(wake_fd_);
}

void ChildProcess::SignalGroup(int signal) {
  if (!reaped_) ::kill(-pid_, signal);
}

void ChildProcess::Kill(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  if (reaped_ || kill_requested_) return;
  kill_requested_ = true;
  if (grace <= absl::ZeroDuration()) {
    SignalGroup(SIGKILL);
    sigkill_sent_ = true;
  } else {
    SignalGroup(SIGTERM);
    kill_deadline_ = absl::Now() + grace;
  }
  const uint64_t one = 1;
  // A full eventfd already wakes the poll, so a failed write loses nothing.
  (void)!::write(wake_fd_, &one, sizeof(one));
}

absl::Duration ChildProcess::EnforceKillDeadline() {
  absl::MutexLock lock(&mu_);
  if (sigkill_sent_ || kill_deadline_ == absl::InfiniteFuture()) {
    return absl::InfiniteDuration();
  }
  const absl::Duration left = kill_deadline_ - absl::Now();
  if (left > absl::ZeroDuration()) return left;
  SignalGroup(SIGKILL);
  sigkill_sent_ = true;
  return absl::InfiniteDuration();
}

absl::StatusOr<ChildOutcome> ChildProcess::Wait() {
  bool exited = false;
  while (!exited) {
    const absl::Duration left = EnforceKillDeadline();
    // Round up, so that the deadline has passed when poll returns.
    const int timeout_ms = left == absl::InfiniteDuration()
                               ? -1
                               : static_cast<int>(absl::ToInt64Milliseconds(
                                     absl::Ceil(left, absl::Milliseconds(1))));
    std::vector<pollfd> fds = {{pidfd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    io_->AddPollFds(&fds);
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoError("poll", errno);
    if (fds[1].revents != 0) {
      uint64_t count = 0;
      (void)!::read(wake_fd_, &count, sizeof(count));
    }
    exited = fds[0].revents != 0;
    io_->Service(fds);
  }
  {
    // Whatever the child left running in its group ends with it. The child
    // is a zombie until reaped, so the group's id is still its own.
    absl::MutexLock lock(&mu_);
    SignalGroup(SIGKILL);
  }
  io_->Drain();
  ChildOutcome outcome;
  Reap(&outcome);
  io_->Fill(&outcome);
  return outcome;
}

void ChildProcess::Reap(ChildOutcome* outcome) {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  absl::MutexLock lock(&mu_);
  reaped_ = true;
  outcome->killed = kill_requested_;
  outcome->exited = WIFEXITED(status);
  outcome->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  outcome->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

}  // namespace corosched::cli
