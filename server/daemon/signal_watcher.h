#pragma once

#include <atomic>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace corosched::server {

// Turns SIGTERM and SIGINT into calls on an ordinary thread, so handling
// them may log, lock and wait: nothing runs in an async signal handler.
//
//   SignalWatcher::BlockTerminationSignals();   // first thing in main()
//   ... start other threads (they inherit the blocked mask) ...
//   SignalWatcher watcher([&](int signal) { ... });
//
// Thread-safety: construct and destroy on one thread (main). `on_signal`
// runs on the watcher's thread, once per signal received.
class SignalWatcher {
 public:
  // Blocks SIGTERM and SIGINT for the calling thread and every thread it
  // starts afterwards. REQUIRES: called before any other thread exists.
  static absl::Status BlockTerminationSignals();

  explicit SignalWatcher(absl::AnyInvocable<void(int signal)> on_signal);
  // Stops waiting and joins the thread.
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void Run();

  absl::AnyInvocable<void(int signal)> on_signal_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace corosched::server
