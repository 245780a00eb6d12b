#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace corosched::testing {

// What a finished `corosched` run left behind.
struct CliResult {
  // The exit code; -1 when it was killed (by a signal, or at the deadline).
  int exit_code = -1;
  std::string out;
  std::string err;
  bool timed_out = false;
};

// One run of a command-line tool as a child process, with its stdout and
// stderr captured. Start it, do other things (wake the task it watches),
// then Wait.
//
//   auto cli = CliProcess::Start(kCoroschedPath, {"watch", id});
//   ...
//   CliResult result = (*cli)->Wait(absl::Seconds(30));
//
// The child inherits the environment minus COROSCHED_ADDR (tests pass
// --addr), plus `env` ("NAME=value" entries). Not thread-safe; destroying a
// running CliProcess kills it.
class CliProcess {
 public:
  static absl::StatusOr<std::unique_ptr<CliProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::vector<std::string>& env = {});

  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;
  ~CliProcess();

  // Sends `signal` to the child (SIGTERM, to stop a `corosched worker`).
  // Does nothing once it was reaped.
  void Signal(int signal);

  // Collects output until the child exits; past `timeout` it is killed
  // (SIGKILL) and the result says timed_out. Call once.
  CliResult Wait(absl::Duration timeout);

 private:
  CliProcess(pid_t pid, int out_fd, int err_fd)
      : pid_(pid), out_fd_(out_fd), err_fd_(err_fd) {}

  pid_t pid_;
  int out_fd_;
  int err_fd_;
  bool reaped_ = false;
};

// Start + Wait.
CliResult RunCli(const std::string& binary,
                 const std::vector<std::string>& args,
                 absl::Duration timeout = absl::Seconds(30),
                 const std::vector<std::string>& env = {});

}  // namespace corosched::testing
