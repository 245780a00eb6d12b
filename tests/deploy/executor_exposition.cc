// Prints the /metrics text of ExecutorMetrics on a real executor that has
// run some work, for the deploy tests (promtool check metrics, and the
// metric names the alert rules and the dashboard use) until the daemon
// serves /metrics itself.
//
//   executor_exposition > executor.prom

#include <atomic>
#include <iostream>
#include <memory>
#include <vector>

#include "core/executor.h"
#include "core/metrics/executor_metrics.h"
#include "core/testing/test_futures.h"
#include "prometheus/text_serializer.h"

int main() {
  constexpr int kWorkers = 2;
  auto metrics = std::make_shared<corosched::ExecutorMetrics>(kWorkers);
  auto executor = corosched::Executor::Create(
      {.workers = kWorkers, .max_tasks = 1024, .observer = metrics.get()});
  if (!executor.ok()) {
    std::cerr << "executor_exposition: " << executor.status() << "\n";
    return 1;
  }
  metrics->SetStatsSource([e = executor->get()] { return e->Stats(); });

  std::atomic<int> live{0};
  constexpr int kTasks = 100;
  std::vector<corosched::JoinHandle<int>> handles;
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    auto handle = (*executor)->Spawn(corosched::testing::YieldTimes(64, &live));
    if (!handle.ok()) {
      std::cerr << "executor_exposition: " << handle.status() << "\n";
      return 1;
    }
    handles.push_back(*std::move(handle));
  }
  for (auto& handle : handles) {
    if (!std::move(handle).Wait().ok()) return 1;
  }
  std::cout << prometheus::TextSerializer().Serialize(metrics->Collect());
  metrics->SetStatsSource(nullptr);
  (*executor)->Shutdown(corosched::ShutdownMode::kDrain);
  return 0;
}
