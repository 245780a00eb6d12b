#include "server/daemon/daemon.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/health_check_service_interface.h"
#include "net/host_port.h"
#include "server/auth/make_authorizer.h"
#include "server/daemon/data_dir_checks.h"
#include "server/daemon/listen_policy.h"
#include "server/daemon/logging.h"
#include "server/daemon/pem_checks.h"
#include "server/daemon/reflection_switch.h"
#include "server/daemon/server_credentials.h"
#include "server/store/memory_store.h"
#include "spdlog/spdlog.h"

namespace corosched::server {
namespace {

// "127.0.0.1:0" with port 43127 -> "127.0.0.1:43127"; unix: as it is.
std::string BoundAddress(const std::string& listen, int port) {
  absl::StatusOr<HostPort> address = SplitHostPort(listen);
  if (!address.ok() || address->unix_socket) return listen;
  address->port = static_cast<uint16_t>(port);
  return address->ToString();
}

// /metrics' HTTPS files (checked, so a bad one is named before civetweb
// fails vaguely) and basic-auth users; nothing when metrics are off.
absl::StatusOr<MetricsEndpointSecurity> MetricsSecurity(
    const ServerConfig& config) {
  MetricsEndpointSecurity security;
  const TlsConfig& tls = config.tls;
  if (config.metrics_listen.empty()) return security;
  if (!tls.metrics_cert_file.empty()) {
    absl::StatusOr<std::vector<std::string>> warnings =
        CheckTlsFiles({.cert_file = tls.metrics_cert_file,
                       .key_file = tls.metrics_key_file,
                       .cert_flag = "--metrics-tls-cert",
                       .key_flag = "--metrics-tls-key"},
                      absl::Now());
    if (!warnings.ok()) return warnings.status();
    for (const std::string& warning : *warnings) {
      spdlog::warn("event=tls_certificate_invalid detail={}",
                   LogValue(warning));
    }
    security.cert_file = tls.metrics_cert_file;
    security.key_file = tls.metrics_key_file;
    security.reload_interval = config.credentials_reload_interval;
    security.on_reload_error = [](const absl::Status& why) {
      spdlog::error("event=metrics_tls_reload_failed action=kept_previous {}",
                    LogStatus(why));
    };
  }
  if (!tls.metrics_basic_auth_file.empty()) {
    absl::StatusOr<std::shared_ptr<BasicAuthUsers>> users =
        BasicAuthUsers::Load(
            tls.metrics_basic_auth_file,
            {.reload_interval = config.credentials_reload_interval,
             .on_error = [](const absl::Status& why) {
               spdlog::error(
                   "event=metrics_basic_auth_reload_failed "
                   "action=kept_previous "
                   "{}",
                   LogStatus(why));
             }});
    if (!users.ok()) return users.status();
    security.users = *std::move(users);
  }
  spdlog::info("event=metrics_security tls={} basic_auth={}",
               security.cert_file.empty() ? "off" : "on",
               security.users == nullptr ? "off" : "on");
  return security;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(
    const ServerConfig& config, FatalCallback on_fatal) {
  // Before anything opens: an open non-loopback listen is refused here.
  if (absl::Status safe = CheckListenSecurity(config); !safe.ok()) {
    return safe;
  }
  if (config.insecure) {
    spdlog::warn(
        "event=insecure listen={} metrics_listen={} tls={} "
        "authentication={} detail=\"--insecure: non-loopback addresses are "
        "served even without TLS and authentication\"",
        LogValue(config.listen), LogValue(config.metrics_listen),
        config.tls.cert_file.empty() ? "off" : "on",
        AuthenticationConfigured(config) ? "on" : "off");
  }
  std::unique_ptr<Daemon> daemon(new Daemon(config));
  daemon->metrics_ =
      std::make_unique<DaemonMetrics>(config.workers, config.metrics_listen);
  // Before the store: a bad tokens file or JWT key stops the start at once,
  // naming the file.
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer =
      MakeAuthorizer(config, Clock::Real(), daemon->metrics_->auth_observer());
  if (!authorizer.ok()) return authorizer.status();
  daemon->authorizer_ = *std::move(authorizer);
  if (AuthenticationConfigured(config)) {
    spdlog::info(
        "event=auth_enabled tokens_file={} jwt_key={} client_ca={} "
        "principal_rate={} connection_rate={} principal_max_streams={}",
        LogValue(config.auth.tokens_file), LogValue(config.auth.jwt_key_file),
        LogValue(config.tls.client_ca_file), config.auth.principal_rate,
        config.auth.connection_rate, config.auth.principal_max_streams);
  }
  if (absl::Status opened = daemon->OpenStore(std::move(on_fatal));
      !opened.ok()) {
    return opened;
  }
  // Every unfinished task resumes, even past --max-tasks: the bound then
  // refuses new submissions until enough of them finish.
  size_t max_tasks = config.max_tasks;
  if (daemon->sqlite_ != nullptr) {
    absl::StatusOr<uint64_t> unfinished =
        daemon->sqlite_->CountUnfinishedTasks();
    if (!unfinished.ok()) return unfinished.status();
    if (*unfinished > max_tasks) {
      spdlog::warn(
          "event=admission_bound_raised max_tasks={} unfinished_tasks={} "
          "reason=\"the store holds more unfinished tasks than --max-tasks; "
          "new submissions are refused until they finish\"",
          max_tasks, *unfinished);
      max_tasks = *unfinished;
    }
  }
  auto executor =
      Executor::Create({.workers = config.workers,
                        .max_tasks = max_tasks,
                        .observer = daemon->metrics_->executor_observer(),
                        // gRPC threads feed the workers on the same cores:
                        // a worker out of work lets them run before it
                        // sleeps (docs/PERFORMANCE.md, the service).
                        .park_yields = 4});
  if (!executor.ok()) return executor.status();
  daemon->executor_ = *std::move(executor);
  daemon->hub_ = std::make_unique<StreamHub>();
  daemon->runner_ = std::make_unique<TaskRunner>(
      *daemon->executor_, *daemon->store_, *daemon->hub_,
      &daemon->metrics_->tasks(), daemon->metrics_->work_observer());
  daemon->admission_ = std::make_unique<NamespaceAdmission>(
      *daemon->executor_->clock(), config.namespaces);
  daemon->tasks_ = std::make_unique<TaskService>(
      *daemon->executor_, *daemon->store_, *daemon->runner_,
      TaskServiceOptions{.limits = TaskLimits(config),
                         .max_start_delay = config.max_start_delay,
                         .admission = daemon->admission_.get(),
                         .namespace_metrics = &daemon->metrics_->namespaces()});
  daemon->metrics_->namespaces().SetUnfinishedSource(
      [tasks = daemon->tasks_.get()] {
        return tasks->admission().AllUnfinished();
      });
  daemon->service_ = std::make_unique<SchedulerService>(
      *daemon->tasks_, *daemon->store_, *daemon->hub_, *daemon->authorizer_);
  if (auto* shared = dynamic_cast<ClusterStore*>(daemon->store_.get());
      shared != nullptr) {
    LeaseKeeperOptions lease;
    lease.lease = config.lease_duration;
    daemon->cluster_ = std::make_unique<ClusterNode>(
        *shared, *daemon->executor_, *daemon->runner_, *daemon->tasks_,
        ClusterNode::SteadyClock(), lease, &daemon->metrics_->cluster());
    daemon->service_->PollWatchesOnSharedStore(daemon->cluster_->timer());
  }
  if (absl::Status recovered = daemon->Recover(); !recovered.ok()) {
    return recovered;
  }
  if (absl::Status built = daemon->BuildServer(); !built.ok()) return built;
  spdlog::info("event=listening address={} workers={}",
               LogValue(daemon->address_),
               daemon->executor_->Stats().worker_queue_depths.size());
  PurgeableStore* purgeable = daemon->sqlite_;
  if (daemon->postgres_ != nullptr) purgeable = daemon->postgres_;
  if (purgeable != nullptr) {
    daemon->purger_ = std::make_unique<RetentionPurger>(
        *purgeable, *daemon->executor_->clock(), config.retention,
        RetentionPurger::IntervalFor(config.retention));
  }
  absl::StatusOr<MetricsEndpointSecurity> metrics_security =
      MetricsSecurity(config);
  if (!metrics_security.ok()) return metrics_security.status();
  if (absl::Status metrics = daemon->metrics_->Serve(
          *daemon->executor_, *daemon->store_, &daemon->runner_->work_queues(),
          *metrics_security);
      !metrics.ok()) {
    return metrics;
  }
  if (config.metrics_listen.empty()) {
    spdlog::info("event=metrics_off");
  } else {
    spdlog::info("event=metrics_listening address={} path=/metrics",
                 LogValue(daemon->metrics_->address()));
  }
  daemon->SetServing(true);
  if (absl::Status ready = daemon->WriteReadyFile(); !ready.ok()) {
    return ready;
  }
  spdlog::info("event=ready address={}", LogValue(daemon->address_));
  return daemon;
}

absl::Status Daemon::OpenStore(FatalCallback on_fatal) {
  if (!config_.postgres_url.empty()) return OpenPostgresStore();
  if (config_.durability == ServerConfig::Durability::kNone) {
    store_ = std::make_unique<MemoryStore>(
        MemoryStoreOptions{.retain_finished = config_.retain_finished,
                           .max_events_per_task = config_.task_max_events});
    return absl::OkStatus();
  }
  // Before anything writes: a full disk is refused here with a message that
  // says so, not found by the first write after SERVING.
  if (absl::Status room =
          CheckFreeDisk(config_.data_dir, config_.min_free_disk);
      !room.ok()) {
    return room;
  }
  const absl::Time begin = absl::Now();
  SqliteStoreOptions options{.data_dir = config_.data_dir,
                             .observer = metrics_->commit_observer()};
  options.on_fatal_error = std::move(on_fatal);
  options.max_events_per_task = config_.task_max_events;
  options.on_warning = [](const std::string& message) {
    spdlog::warn("event=data_dir_access detail={}", LogValue(message));
  };
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(std::move(options));
  if (!opened.ok()) return opened.status();
  sqlite_ = opened->get();
  store_ = *std::move(opened);
  spdlog::info("event=store_open durability=sync database={} took={}",
               LogValue(sqlite_->database_path()),
               absl::FormatDuration(absl::Now() - begin));
  return absl::OkStatus();
}

absl::Status Daemon::OpenPostgresStore() {
  const absl::Time begin = absl::Now();
  PostgresStoreOptions options{.url = config_.postgres_url,
                               .connections = config_.postgres_connections,
                               .max_events_per_task = config_.task_max_events,
                               .observer = metrics_->commit_observer()};
  options.on_warning = [](const std::string& message) {
    spdlog::warn("event=postgres_settings detail={}", LogValue(message));
  };
  absl::StatusOr<std::unique_ptr<PostgresStore>> opened =
      PostgresStore::Open(std::move(options));
  if (!opened.ok()) return opened.status();
  postgres_ = opened->get();
  store_ = *std::move(opened);
  // Not joined yet: the ClusterNode joins once the store's callbacks are
  // set (Recover), and logs the daemon id then.
  spdlog::info("event=store_open store=postgres url={} lease={} took={}",
               LogValue(RedactedUrl(config_.postgres_url)),
               absl::FormatDuration(config_.lease_duration),
               absl::FormatDuration(absl::Now() - begin));
  return absl::OkStatus();
}

absl::Status Daemon::Recover() {
  const absl::Time begin = absl::Now();
  if (cluster_ != nullptr) {
    // Joins, then claims the tasks no live daemon runs (up to --max-tasks)
    // and resumes them, before SERVING; from then on it keeps the lease
    // and claims on its own threads.
    if (absl::Status started = cluster_->Start(); !started.ok()) {
      return absl::Status(
          started.code(),
          absl::StrCat("cannot join the shared store: ", started.message()));
    }
    spdlog::info("event=recovered tasks={} took={}", runner_->live_count(),
                 absl::FormatDuration(absl::Now() - begin));
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> resumed = tasks_->ResumeUnfinished();
  if (!resumed.ok()) {
    return absl::Status(
        resumed.status().code(),
        absl::StrCat("recovery failed: ", resumed.status().message()));
  }
  if (*resumed > 0 || sqlite_ != nullptr) {
    spdlog::info("event=recovered tasks={} took={}", *resumed,
                 absl::FormatDuration(absl::Now() - begin));
  }
  return absl::OkStatus();
}

absl::Status Daemon::BuildServer() {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config_);
  if (!credentials.ok()) return credentials.status();
  // Health needs no credentials: it is gRPC's own service, which never asks
  // the Authorizer.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  ConfigureReflection(config_.reflection, builder);
  if (!config_.reflection) spdlog::info("event=reflection_off");
  int port = 0;
  builder.AddListeningPort(config_.listen, *credentials, &port);
  builder.RegisterService(service_.get());
  metrics_->AddInterceptor(builder);
  builder.SetMaxReceiveMessageSize(config_.max_message_bytes);
  // --max-streams-per-connection: calls past it wait in the client.
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONCURRENT_STREAMS,
      static_cast<int>(config_.auth.max_streams_per_connection));
  // gRPC sets SO_REUSEPORT by default, which would let a second daemon bind
  // the same port and steal half the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Keepalive abuse: a client pinging more often than every 10 s without
  // sending data gets a strike; after 2 strikes its connection is closed
  // (GOAWAY too_many_pings).
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  // Find clients that vanished without closing (a watch on a dead peer).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", config_.listen,
        ": the address is already in use or cannot be bound (is another "
        "corosched-server running there?)"));
  }
  address_ = BoundAddress(config_.listen, port);
  // gRPC's health service starts out SERVING; say NOT_SERVING until Start
  // is done. (A probe in the microseconds between could see SERVING; the
  // ready file is written only after this.)
  SetServing(false);
  return absl::OkStatus();
}

void Daemon::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(v1::Scheduler::service_full_name(), serving);
  health->SetServingStatus(serving);  // every service, and "" (the server)
}

absl::Status Daemon::WriteReadyFile() const {
  if (config_.ready_file.empty()) return absl::OkStatus();
  // Write, then rename: a reader never sees a half-written address.
  const std::string temporary = config_.ready_file + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << address_ << "\n";
    if (!metrics_->address().empty()) {
      out << "metrics=" << metrics_->address() << "\n";
    }
    if (!out.flush()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--ready-file ", config_.ready_file, ": cannot write ", temporary));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, config_.ready_file, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--ready-file ", config_.ready_file, ": ", error.message()));
  }
  return absl::OkStatus();
}

void Daemon::Drain() {
  const absl::Time begin = absl::Now();
  const absl::Time deadline = begin + config_.drain_timeout;
  spdlog::info("event=drain_begin unfinished_tasks={} timeout={}",
               runner_->live_count(),
               absl::FormatDuration(config_.drain_timeout));
  SetServing(false);
  tasks_->BeginDrain();
  if (cluster_ != nullptr) cluster_->BeginDrain();  // no more claims
  // Keep part of the budget for stopping the executor and closing calls.
  const absl::Duration reserve =
      std::min(config_.drain_timeout / 4, absl::Seconds(2));
  runner_->WaitUntilIdle(deadline - reserve);
  const size_t unfinished = runner_->live_count();
  // Calls still open get at most the reserve: an idle client that is slow
  // to acknowledge the GOAWAY must not hold the exit to the full deadline.
  Stop(std::min(deadline, absl::Now() + reserve));
  spdlog::info("event=drain_end took={} unfinished_tasks={}",
               absl::FormatDuration(absl::Now() - begin), unfinished);
}

void Daemon::Abort() {
  spdlog::error("event=abort reason=store_failed unfinished_tasks={}",
                runner_->live_count());
  SetServing(false);
  tasks_->BeginDrain();
  Stop(absl::Now() + absl::Seconds(1));
}

void Daemon::Stop(absl::Time deadline) {
  if (stopped_) return;
  stopped_ = true;
  purger_.reset();
  if (runner_ != nullptr) runner_->BeginShutdown();
  if (executor_ != nullptr) executor_->Shutdown(ShutdownMode::kCancel);
  spdlog::debug("event=executor_stopped");
  // Remote cancels still waiting for another daemon answer now (queued).
  if (cluster_ != nullptr) cluster_->StopTimer();
  if (hub_ != nullptr) hub_->CloseAll();
  if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(deadline));
  spdlog::debug("event=grpc_stopped");
  if (cluster_ != nullptr) {
    // The tasks left unfinished go to the other daemons at their next
    // claim, not after this daemon's lease expires.
    if (absl::Status left = cluster_->Leave(); left.ok()) {
      spdlog::info("event=cluster_left");
    } else {
      spdlog::warn("event=cluster_leave_failed action=lease_expires {}",
                   LogStatus(left));
    }
  }
  // Scrapes stop reading the store (and the runner's work queues) before
  // they go away.
  if (metrics_ != nullptr) metrics_->Detach();
  // Nothing calls the store any more: commit what is queued (its callbacks
  // still find the runner and the hub), then close it and unlock the data
  // directory.
  sqlite_ = nullptr;
  postgres_ = nullptr;
  store_.reset();
  spdlog::debug("event=store_closed");
}

Daemon::~Daemon() { Stop(absl::Now()); }

}  // namespace corosched::server
