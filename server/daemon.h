#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/executor.h"
#include "grpcpp/grpcpp.h"
#include "server/config.h"
#include "server/metrics/daemon_metrics.h"
#include "server/scheduler_service.h"
#include "server/store/task_store.h"
#include "server/stream_hub.h"
#include "server/task_runner.h"
#include "server/task_service.h"

namespace corosched::server {

// The whole daemon: executor, store, task runner, the Scheduler service,
// health and reflection on one gRPC server.
//
//   auto daemon = Daemon::Start(config);   // serving once this returns
//   ... a termination signal arrives ...
//   (*daemon)->Drain();                    // returns when everything stopped
//
// Startup: listens (with SO_REUSEPORT off, so a second daemon on the same
// address fails), reports health SERVING only once everything is up, then
// writes the ready file.
//
// Drain, within config.drain_timeout:
//  1. health NOT_SERVING; SubmitTask/SubmitTasks answer UNAVAILABLE; wakes,
//     watches, cancels and reads keep working.
//  2. Wait for unfinished tasks to finish (until shortly before the
//     deadline, or until Hurry).
//  3. Stop the executor: polls in progress finish, the rest are dropped
//     (left unfinished in the store).
//  4. Close open streams (WatchTask ends UNAVAILABLE with the sequence to
//     resume from), then shut the gRPC server down, giving calls still open
//     the time kept in reserve (a quarter of the timeout, at most 2 s).
//
// Thread-safety: Start, Drain and destruction on one thread; Hurry from any.
class Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(
      const ServerConfig& config);
  // Stops everything at once if Drain was not called.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The bound address, e.g. 127.0.0.1:43127 for --listen 127.0.0.1:0.
  const std::string& address() const { return address_; }

  void Drain();
  // Makes a Drain in progress stop waiting for tasks (a second signal).
  void Hurry() { runner_->StopWaiting(); }

 private:
  explicit Daemon(const ServerConfig& config) : config_(config) {}

  absl::Status BuildServer();
  // Health for the server ("") and corosched.v1.Scheduler.
  void SetServing(bool serving);
  absl::Status WriteReadyFile() const;
  // Steps 3 and 4 of Drain, with the gRPC server given until `deadline`.
  void Stop(absl::Time deadline);

  const ServerConfig config_;
  // Declared in construction order; destroyed after Stop in reverse.
  std::unique_ptr<DaemonMetrics> metrics_;  // outlives what reports to it
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskStore> store_;
  std::unique_ptr<StreamHub> hub_;
  std::unique_ptr<TaskRunner> runner_;
  std::unique_ptr<TaskService> tasks_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  bool stopped_ = false;
};

}  // namespace corosched::server
