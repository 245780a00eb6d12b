#include "server/daemon/signal_watcher.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace corosched::server {
namespace {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

}  // namespace

absl::Status SignalWatcher::BlockTerminationSignals() {
  sigset_t signals = TerminationSignals();
  const int error = pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (error != 0) {
    return absl::InternalError(absl::StrCat(
        "cannot block SIGTERM and SIGINT: ",
        std::error_code(error, std::generic_category()).message()));
  }
  return absl::OkStatus();
}

SignalWatcher::SignalWatcher(absl::AnyInvocable<void(int signal)> on_signal)
    : on_signal_(std::move(on_signal)), thread_([this] { Run(); }) {}

SignalWatcher::~SignalWatcher() {
  stopping_.store(true);
  // Wakes the sigwait below: the signal is blocked, so it stays pending
  // for the watcher's thread until sigwait takes it; it terminates nothing.
  // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread)
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void SignalWatcher::Run() {
  const sigset_t signals = TerminationSignals();
  while (true) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (stopping_.load()) return;
    on_signal_(signal);
  }
}

}  // namespace corosched::server
