// corosched-server: the Corosched daemon. See docs/service.md, or run it
// with --help.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "server/config.h"
#include "server/daemon.h"
#include "server/logging.h"
#include "server/signal_watcher.h"
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
  spdlog::info(
      "event=start listen={} workers={} max_tasks={} max_message_bytes={} "
      "data_dir={} drain_timeout={} retain_finished={} store=memory",
      LogValue(config.listen), config.workers, config.max_tasks,
      config.max_message_bytes, LogValue(config.data_dir),
      absl::FormatDuration(config.drain_timeout), config.retain_finished);
}

// Serves until SIGTERM or SIGINT, then drains. A second signal cuts the
// wait for unfinished tasks short.
int Serve(const ServerConfig& config) {
  LogConfig(config);
  if (!config.data_dir.empty()) {
    if (absl::Status dir = PrepareDataDir(config.data_dir); !dir.ok()) {
      spdlog::error("event=start_failed {}", LogStatus(dir));
      return 1;
    }
  }
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Start(config);
  if (!daemon.ok()) {
    spdlog::error("event=start_failed {}", LogStatus(daemon.status()));
    return 1;
  }
  absl::Notification stop;
  std::atomic<int> signals{0};
  {
    SignalWatcher watcher([&](int signal) {
      const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
      if (signals.fetch_add(1) == 0) {
        spdlog::info("event=signal signal={} action=drain", name);
        stop.Notify();
      } else {
        spdlog::info("event=signal signal={} action=stop_waiting", name);
        (*daemon)->Hurry();
      }
    });
    stop.WaitForNotification();
    (*daemon)->Drain();
  }
  daemon->reset();
  spdlog::info("event=exit code=0");
  return 0;
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
