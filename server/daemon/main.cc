// corosched-server: the Corosched daemon. See docs/service.md, or run it
// with --help.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/daemon/config.h"
#include "server/daemon/daemon.h"
#include "server/daemon/data_dir_checks.h"
#include "server/daemon/logging.h"
#include "server/daemon/signal_watcher.h"
#include "spdlog/spdlog.h"

namespace corosched::server {
namespace {

std::optional<std::string> GetEnv(const char* name) {
  const char* value =
      std::getenv(name);  // NOLINT(concurrency-mt-unsafe): before any thread
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

void LogConfig(const ServerConfig& config) {
  // With --postgres-url, --durability and --data-dir are unused; the URL is
  // logged (without its password) once the store is open.
  const bool postgres = !config.postgres_url.empty();
  const bool sync =
      !postgres && config.durability == ServerConfig::Durability::kSync;
  spdlog::info(
      "event=start listen={} workers={} max_tasks={} max_message_bytes={} "
      "durability={} data_dir={} min_free_disk={} retention={} "
      "max_start_delay={} "
      "drain_timeout={}",
      LogValue(config.listen), config.workers, config.max_tasks,
      config.max_message_bytes,
      postgres ? "postgres" : (sync ? "sync" : "none"),
      sync ? LogValue(config.data_dir) : "-",
      sync ? std::to_string(config.min_free_disk) : "-",
      sync || postgres ? absl::FormatDuration(config.retention) : "-",
      absl::FormatDuration(config.max_start_delay),
      absl::FormatDuration(config.drain_timeout));
}

// Serves until SIGTERM or SIGINT, then drains and exits 0. A second signal
// cuts the wait for unfinished tasks short. A store that fails for good
// stops the daemon at once with exit code 1, so an orchestrator restarts it.
int Serve(const ServerConfig& config) {
  LogConfig(config);
  if (config.durability == ServerConfig::Durability::kSync) {
    if (absl::Status dir = PrepareDataDir(config.data_dir); !dir.ok()) {
      spdlog::error("event=start_failed {}", LogStatus(dir));
      return 1;
    }
  }
  // Set by the first signal or by a store failure, whichever comes first.
  absl::Mutex stop_mu;
  bool stop = false;
  auto request_stop = [&] {
    absl::MutexLock lock(&stop_mu);
    stop = true;
  };
  std::atomic<bool> store_failed{false};
  absl::StatusOr<std::unique_ptr<Daemon>> daemon =
      Daemon::Start(config, [&](const absl::Status& why) {
        // On the store's writer thread: log, and let the main thread stop.
        spdlog::critical(
            "event=store_failed action=exit data_dir={} {} hint=\"nothing "
            "more is acknowledged; fix the disk (full? I/O errors?) and "
            "restart: unfinished tasks resume from what is on disk\"",
            LogValue(config.data_dir), LogStatus(why));
        store_failed.store(true);
        request_stop();
      });
  if (!daemon.ok()) {
    spdlog::error("event=start_failed {}", LogStatus(daemon.status()));
    return 1;
  }
  std::atomic<int> signals{0};
  {
    SignalWatcher watcher([&](int signal) {
      const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
      if (signals.fetch_add(1) == 0) {
        spdlog::info("event=signal signal={} action=drain", name);
        request_stop();
      } else {
        spdlog::info("event=signal signal={} action=stop_waiting", name);
        (*daemon)->Hurry();
      }
    });
    {
      absl::MutexLock lock(&stop_mu);
      stop_mu.Await(absl::Condition(&stop));
    }
    if (store_failed.load()) {
      (*daemon)->Abort();
    } else {
      (*daemon)->Drain();
    }
  }
  daemon->reset();
  const int code = store_failed.load() ? 1 : 0;
  spdlog::info("event=exit code={}", code);
  return code;
}

}  // namespace
}  // namespace corosched::server

int main(int argc, char** argv) {
  using namespace corosched::server;  // NOLINT(google-build-using-namespace)
  // Before any thread starts, so every thread inherits the blocked mask and
  // only the SignalWatcher receives SIGTERM and SIGINT.
  if (absl::Status blocked = SignalWatcher::BlockTerminationSignals();
      !blocked.ok()) {
    std::fprintf(stderr, "corosched-server: %s\n",
                 std::string(blocked.message()).c_str());
    return 1;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<CommandLine> parsed = ParseCommandLine(args, GetEnv);
  if (!parsed.ok()) {
    std::fprintf(stderr,
                 "corosched-server: %s\nRun corosched-server --help for the "
                 "flags.\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(HelpText().c_str(), stdout);
    return 0;
  }
  SetUpLogging(parsed->config.log_level);
  const int code = Serve(parsed->config);
  spdlog::shutdown();
  return code;
}
