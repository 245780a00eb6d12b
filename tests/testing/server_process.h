#pragma once

// Runs the real corosched-server binary for end-to-end tests.
//
//   auto server = ServerProcess::Start({.args = {"--max-tasks", "10"}});
//   ASSERT_TRUE(server.ok()) << server.status();   // the message has stderr
//   auto channel = (*server)->NewChannel();
//   ... drive it with stubs, the client library or the CLI ...
//   absl::StatusOr<int> code = (*server)->Stop();  // SIGTERM, wait for exit
//   EXPECT_EQ(*code, 0) << (*server)->Stderr();
//
// The daemon always gets `--listen <listen> --ready-file <file> --data-dir
// <dir> --metrics-listen=<metrics_listen>` (listen and metrics_listen
// default to 127.0.0.1:0, a free loopback port, so tests never clash on the
// defaults; the data directory is a fresh one, removed with the
// ServerProcess) followed by `args`, where a later flag wins, and writes its
// stderr to a file Stderr() reads. The addresses it reports in the ready
// file are address() and metrics_address(). Every wait is bounded; nothing
// sleeps for longer than a polling interval.
//
// A daemon still running when the ServerProcess is destroyed is killed
// (SIGKILL), and it is also killed if the thread that started it exits
// (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves no daemon
// behind: start it from the test's main thread.
//
// Thread-safety: one thread at a time per ServerProcess.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace corosched::testing {

struct ServerProcessOptions {
  // Flags after --listen and --ready-file.
  std::vector<std::string> args;
  // Extra environment variables for the daemon (the test's own environment
  // is passed on too).
  std::vector<std::pair<std::string, std::string>> env;
  // --listen; a fixed port only to test a clash with another daemon.
  std::string listen = "127.0.0.1:0";
  // --metrics-listen; empty turns metrics off.
  std::string metrics_listen = "127.0.0.1:0";
  // Runs the daemon under this command (such as {"strace", "-f", ...});
  // pid() is then the wrapper's, which must pass signals on and exit with
  // the daemon's code.
  std::vector<std::string> command_prefix;
  // How long Start waits for the ready file.
  absl::Duration start_timeout = absl::Seconds(30);
};

class ServerProcess {
 public:
  // Launch, then WaitUntilReady. On failure the daemon is killed and the
  // status message includes what it wrote to stderr.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      ServerProcessOptions options = {});
  // Starts the daemon without waiting for it (to test one that must fail
  // to start: then WaitForExit and read Stderr).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Launch(
      ServerProcessOptions options = {});

  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits for the ready file and reads the address from it. FAILED_
  // PRECONDITION if the daemon exits first, DEADLINE_EXCEEDED at `timeout`.
  absl::Status WaitUntilReady(absl::Duration timeout);

  // The bound address (host:port), once ready.
  const std::string& address() const { return address_; }
  // The bound /metrics address (host:port) once ready; empty when metrics
  // are off.
  const std::string& metrics_address() const { return metrics_address_; }
  pid_t pid() const { return pid_; }
  // An insecure channel to address().
  std::shared_ptr<grpc::Channel> NewChannel() const;

  // Sends `signal` to the daemon (no-op once it has been reaped).
  void Signal(int signal);
  // Waits for the daemon to exit: its exit code, or 128 + the signal that
  // killed it. DEADLINE_EXCEEDED if it still runs after `timeout`.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  // SIGTERM, then WaitForExit(timeout).
  absl::StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(30));
  // SIGKILL to its process group (the daemon, and a command prefix such as
  // strace with it), and reap.
  void Kill();
  // Whether the daemon is still running (not yet reaped).
  bool running();

  // Everything the daemon has written to stderr so far.
  std::string Stderr() const;

 private:
  ServerProcess(std::string dir, pid_t pid) : dir_(std::move(dir)), pid_(pid) {}
  std::string ReadyFile() const { return dir_ + "/ready"; }
  // Reaps the daemon if it exited; true when it has.
  bool Reap(bool block);

  const std::string dir_;  // temporary: ready file and stderr
  pid_t pid_;
  std::optional<int> exit_code_;
  std::string address_;
  std::string metrics_address_;
};

}  // namespace corosched::testing
