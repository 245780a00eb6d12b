#include "client/cli/command_supervisor.h"

#include <utility>

namespace corosched::cli {

CommandSupervisor::CommandSupervisor(absl::Duration kill_grace,
                                     absl::Duration check_every)
    : kill_grace_(kill_grace), check_every_(check_every) {
  if (check_every_ != absl::InfiniteDuration()) {
    watcher_ = std::thread([this] { WatchLoop(); });
  }
}

CommandSupervisor::~CommandSupervisor() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

void CommandSupervisor::Add(ChildProcess* child,
                            std::function<bool()> cancel_requested) {
  absl::MutexLock lock(&mu_);
  Running& running = running_[child];
  running.cancel_requested = std::move(cancel_requested);
  if (stop_all_) Stop(child, &running, StopReason::kWorkerStopping);
}

StopReason CommandSupervisor::Remove(ChildProcess* child) {
  absl::MutexLock lock(&mu_);
  auto it = running_.find(child);
  if (it == running_.end()) return StopReason::kNone;
  const StopReason stopped = it->second.stopped;
  running_.erase(it);
  return stopped;
}

void CommandSupervisor::CheckNow() {
  absl::MutexLock lock(&mu_);
  CheckLocked();
}

void CommandSupervisor::StopAll() {
  absl::MutexLock lock(&mu_);
  stop_all_ = true;
  for (auto& [child, running] : running_) {
    Stop(child, &running, StopReason::kWorkerStopping);
  }
}

void CommandSupervisor::Stop(ChildProcess* child, Running* running,
                             StopReason why) {
  if (running->stopped != StopReason::kNone) return;
  running->stopped = why;
  child->Kill(kill_grace_);
}

void CommandSupervisor::CheckLocked() {
  for (auto& [child, running] : running_) {
    if (running.stopped == StopReason::kNone && running.cancel_requested()) {
      Stop(child, &running, StopReason::kCancelled);
    }
  }
}

void CommandSupervisor::WatchLoop() {
  absl::MutexLock lock(&mu_);
  while (
      !mu_.AwaitWithTimeout(absl::Condition(&shutting_down_), check_every_)) {
    CheckLocked();
  }
}

}  // namespace corosched::cli
