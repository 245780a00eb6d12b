#pragma once

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "core/executor.h"
#include "grpcpp/grpcpp.h"
#include "server/auth/authorizer.h"
#include "server/daemon/cluster_node.h"
#include "server/daemon/config.h"
#include "server/daemon/retention_purger.h"
#include "server/grpc/scheduler_service.h"
#include "server/metrics/daemon_metrics.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"
#include "server/store/task_store.h"
#include "server/tasks/namespace_admission.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_runner.h"
#include "server/tasks/task_service.h"

namespace corosched::server {

// The whole daemon: executor, store, task runner, the Scheduler service,
// health and reflection on one gRPC server.
//
//   auto daemon = Daemon::Start(config);   // serving once this returns
//   ... a termination signal arrives ...
//   (*daemon)->Drain();                    // returns when everything stopped
//
// Startup: opens the store (with --postgres-url: connects and migrates the
// schema; with --durability=sync: checks --data-dir's
// free space against --min-free-disk, locks it, checks and migrates the
// database and commits one write to it, so a disk that is full or takes no
// writes stops the start before anything is served), resumes every
// unfinished task it holds (with --postgres-url: joins under a fresh
// daemon id with --lease-duration and claims the unfinished tasks no live
// daemon runs, up to --max-tasks; see ClusterNode), then
// listens (with SO_REUSEPORT off, so a second daemon on the same address
// fails), reports health SERVING, and writes the ready file.
//
// A store that fails for good (a failed write or fsync) calls `on_fatal`
// once, from the store's writer thread; from then on every write answers
// UNAVAILABLE and nothing more is acknowledged. The caller logs it, calls
// Abort, and exits non-zero.
//
// Drain, within config.drain_timeout:
//  1. health NOT_SERVING; SubmitTask/SubmitTasks answer UNAVAILABLE; wakes,
//     watches, cancels and reads keep working. A daemon on a shared store
//     claims no more tasks.
//  2. Wait for unfinished tasks to finish (until shortly before the
//     deadline, or until Hurry).
//  3. Stop the executor: polls in progress finish, the rest are dropped
//     (left unfinished in the store).
//  4. Close open streams (WatchTask ends UNAVAILABLE with the sequence to
//     resume from), then shut the gRPC server down, giving calls still open
//     the time kept in reserve (a quarter of the timeout, at most 2 s).
//     Remote cancels still waiting answer UNAVAILABLE first.
//  5. On a shared store: give every task still owned back and leave, so the
//     other daemons claim them at once.
//
// Thread-safety: Start, Drain and destruction on one thread; Hurry from any.
class Daemon {
 public:
  using FatalCallback = absl::AnyInvocable<void(const absl::Status&)>;

  static absl::StatusOr<std::unique_ptr<Daemon>> Start(
      const ServerConfig& config, FatalCallback on_fatal = nullptr);
  // Stops everything at once if Drain was not called.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The bound address, e.g. 127.0.0.1:43127 for --listen 127.0.0.1:0.
  const std::string& address() const { return address_; }

  void Drain();
  // Makes a Drain in progress stop waiting for tasks (a second signal).
  void Hurry() { runner_->StopWaiting(); }
  // After on_fatal: NOT_SERVING, then stops at once without waiting for
  // tasks (they stay as last stored, and resume on the next start).
  void Abort();

 private:
  explicit Daemon(const ServerConfig& config) : config_(config) {}

  // Opens the store --postgres-url or --durability names.
  absl::Status OpenStore(FatalCallback on_fatal);
  // Opens the PostgreSQL store and joins its daemons.
  absl::Status OpenPostgresStore();
  // Resumes the store's unfinished tasks (before listening).
  absl::Status Recover();
  absl::Status BuildServer();
  // Health for the server ("") and corosched.v1.Scheduler.
  void SetServing(bool serving);
  absl::Status WriteReadyFile() const;
  // Steps 3 and 4 of Drain, with the gRPC server given until `deadline`.
  void Stop(absl::Time deadline);

  const ServerConfig config_;
  // Declared in construction order; destroyed after Stop in reverse. Stop
  // closes the store early (after the executor and the gRPC server
  // stopped), so that its last commits still find the runner and the hub
  // they report to.
  std::unique_ptr<DaemonMetrics> metrics_;  // outlives what reports to it
  // Who may call (MakeAuthorizer); outlives the service that asks it.
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<TaskStore> store_;
  SqliteStore* sqlite_ = nullptr;      // store_, when it is the SQLite one
  PostgresStore* postgres_ = nullptr;  // store_, with --postgres-url
  // Before the executor: its task futures hold slots of it until they
  // are destroyed.
  std::unique_ptr<NamespaceAdmission> admission_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<StreamHub> hub_;
  std::unique_ptr<TaskRunner> runner_;
  std::unique_ptr<TaskService> tasks_;
  std::unique_ptr<SchedulerService> service_;
  // With a shared store (--postgres-url): the lease, claims and inboxes
  // (docs/scale-out.md). Before the gRPC server, whose calls its timer
  // answers; Stop leaves the cluster before the store closes.
  std::unique_ptr<ClusterNode> cluster_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<RetentionPurger> purger_;
  std::string address_;
  bool stopped_ = false;
};

}  // namespace corosched::server
