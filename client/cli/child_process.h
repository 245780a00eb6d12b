#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace corosched::cli {

// How to run one child: what `corosched worker` runs once per work item.
struct ChildOptions {
  // The program and its arguments. argv[0] is looked up in $PATH unless it
  // holds a '/'. REQUIRES: not empty.
  std::vector<std::string> argv;
  // Set in the child's environment on top of ours ("NAME", "value"); a name
  // we also have is replaced.
  std::vector<std::pair<std::string, std::string>> env;
  // Written to the child's stdin, which is then closed. A child that exits
  // or closes its stdin without reading it all is not an error.
  std::string stdin_data;
  // At most this many bytes of stdout are kept; the rest is read and
  // dropped (so the child never blocks on a full pipe) and the outcome says
  // stdout_overflowed.
  size_t stdout_limit = size_t{1} << 20;
  // The last stderr line is kept up to this many bytes (its start).
  size_t stderr_line_limit = 4096;
  // Every stderr line is also written here as it arrives, after
  // `stderr_prefix`; -1 writes it nowhere. A line longer than
  // stderr_line_limit is written in pieces as it comes.
  int stderr_passthrough_fd = STDERR_FILENO;
  std::string stderr_prefix;
};

// How a child ended, and what it wrote.
struct ChildOutcome {
  // Exactly one of the two: it exited (exit_code) or a signal ended it
  // (term_signal, e.g. SIGTERM from Kill).
  bool exited = false;
  int exit_code = 0;
  int term_signal = 0;
  // Kill was called before the child ended (whatever then ended it).
  bool killed = false;
  // Its stdout, at most ChildOptions::stdout_limit bytes of it.
  std::string stdout_data;
  bool stdout_overflowed = false;
  // Its last non-empty stderr line, without the line end; "" when it wrote
  // none.
  std::string last_stderr_line;
};

// One run of an external program with its stdin fed, its stdout captured and
// its stderr passed through, in a process group of its own so that killing
// it kills whatever it started too.
//
//   auto child = ChildProcess::Start(options);
//   if (!child.ok()) ...                      // e.g. the program was not found
//   ... from another thread: (*child)->Kill(absl::Seconds(5));
//   absl::StatusOr<ChildOutcome> outcome = (*child)->Wait();
//
// When the child itself exits, what is left of its process group (things it
// started in the background) is killed with SIGKILL: an item's processes end
// with it. What those wrote to stdout or stderr before that is kept.
//
// Thread safety: Wait is called once, by one thread; Kill may be called from
// any thread at any time, also before Wait, after it, or more than once.
// Destroying a ChildProcess whose Wait has not returned kills the group and
// reaps the child. Our own SIGPIPE is ignored from the first Start on (a
// child that closes its stdin early must not end this process); the child
// starts with SIGPIPE, SIGINT and SIGTERM at their defaults and no signal
// blocked.
//
// Time: the grace period of Kill is measured on the real clock, as poll(2)
// timeouts are; no test waits on it.
class ChildProcess {
 public:
  // Starts the child. INVALID_ARGUMENT for an empty argv; NOT_FOUND when
  // argv[0] is not an executable program;
  // INTERNAL for a failed system call (pipe, spawn), with errno's text.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const ChildOptions& options);

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // Feeds stdin, collects stdout and stderr, and returns once the child has
  // exited and been reaped. INTERNAL only if poll(2) itself fails. Call
  // once.
  absl::StatusOr<ChildOutcome> Wait();

  // Sends SIGTERM to the child's process group, then SIGKILL once `grace`
  // has passed without the child exiting (at once for a zero grace). Only
  // the first call counts; after the child was reaped it does nothing.
  void Kill(absl::Duration grace);

  pid_t pid() const { return pid_; }

 private:
  struct Pipes;
  class Io;

  ChildProcess(pid_t pid, int pidfd, int wake_fd, const ChildOptions& options,
               int stdin_fd, int stdout_fd, int stderr_fd);

  // Signals the group while the child is not yet reaped.
  void SignalGroup(int signal) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends SIGKILL when a Kill's grace has run out; the time left otherwise
  // (InfiniteDuration without a Kill).
  absl::Duration EnforceKillDeadline() ABSL_LOCKS_EXCLUDED(mu_);
  // waitpid; fills the outcome's ending.
  void Reap(ChildOutcome* outcome) ABSL_LOCKS_EXCLUDED(mu_);

  const pid_t pid_;
  // Readable once the child has exited (pidfd_open).
  const int pidfd_;
  // An eventfd Kill writes to, so that Wait's poll notices a new deadline.
  const int wake_fd_;
  std::unique_ptr<Io> io_;

  absl::Mutex mu_;
  // Set by Wait once waitpid returned: pid_ names no process of ours now,
  // so nothing may be sent to it.
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
  bool kill_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool sigkill_sent_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time kill_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace corosched::cli
