#include "server/metrics/server_metrics.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "core/metrics/metric_families.h"

#ifndef COROSCHED_VERSION
#error "COROSCHED_VERSION must be defined by the build (server/CMakeLists.txt)"
#endif

namespace corosched::server {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr v1::TaskStatus kOutcomes[] = {v1::TASK_STATUS_COMPLETED,
                                        v1::TASK_STATUS_FAILED,
                                        v1::TASK_STATUS_CANCELLED};

// "completed" for TASK_STATUS_COMPLETED: the label value.
std::string StatusLabel(v1::TaskStatus status) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(v1::TaskStatus_Name(status), "TASK_STATUS_"));
}

MetricFamily TasksByState(const ServerMetrics::TaskCounts& counts) {
  MetricFamily family = NewFamily(
      "corosched_tasks",
      "Tasks the store holds, by state: unfinished ones, and the finished "
      "ones still retained.",
      MetricType::Gauge);
  for (int i = v1::TaskStatus_MIN; i <= v1::TaskStatus_MAX; ++i) {
    const auto status = static_cast<v1::TaskStatus>(i);
    if (!v1::TaskStatus_IsValid(i) || status == v1::TASK_STATUS_UNSPECIFIED) {
      continue;
    }
    auto it = counts.find(status);
    AddSample(family, it == counts.end() ? 0.0 : double(it->second),
              {{"state", StatusLabel(status)}});
  }
  return family;
}

}  // namespace

void ServerMetrics::SetSources(Sources sources) {
  absl::MutexLock lock(&mu_);
  sources_ = std::move(sources);
}

void ServerMetrics::OnTaskFinished(v1::TaskStatus outcome,
                                   absl::Duration since_submitted) {
  for (size_t i = 0; i < std::size(kOutcomes); ++i) {
    if (kOutcomes[i] != outcome) continue;
    finished_[i].Add(1);
    task_duration_.RecordFromAnyThread(
        absl::ToInt64Nanoseconds(since_submitted));
    return;
  }
}

std::vector<MetricFamily> ServerMetrics::Collect() const {
  std::vector<MetricFamily> families;
  MetricFamily build =
      NewFamily("corosched_build_info",
                "Always 1; the version label says which build is running.",
                MetricType::Gauge);
  AddSample(build, 1, {{"version", COROSCHED_VERSION}});
  families.push_back(std::move(build));

  families.push_back(CounterFamily(
      "corosched_tasks_submitted_total",
      "Tasks created by SubmitTask or SubmitTasks (repeats of an earlier "
      "submit not counted).",
      double(submitted_.Value())));
  MetricFamily finished =
      NewFamily("corosched_tasks_finished_total",
                "Tasks that ended, by outcome: completed, failed or cancelled.",
                MetricType::Counter);
  for (size_t i = 0; i < std::size(kOutcomes); ++i) {
    AddSample(finished, double(finished_[i].Value()),
              {{"outcome", StatusLabel(kOutcomes[i])}});
  }
  families.push_back(std::move(finished));
  families.push_back(HistogramFamily(
      "corosched_task_duration_seconds",
      "Time from a task's submission to its end (completed, failed or "
      "cancelled).",
      task_duration_.Snapshot()));
  families.push_back(GaugeFamily(
      "corosched_buffered_wakes",
      "Wake signals accepted and not yet taken by an await (in task "
      "mailboxes).",
      double(std::max<int64_t>(0, held_.Value()))));

  MetricFamily wakes = NewFamily(
      "corosched_wakes_total",
      "Wakes of tasks by source: self (the task woke itself during its poll: "
      "a yield), timer (a sleep or timeout fired), signal (WakeTask).",
      MetricType::Counter);
  AddSample(wakes, double(self_wakes_.Value()), {{"source", "self"}});
  AddSample(wakes, double(signals_.Value()), {{"source", "signal"}});
  absl::MutexLock lock(&mu_);
  if (sources_.executor_stats) {
    AddSample(wakes, double(sources_.executor_stats().timer_wakes),
              {{"source", "timer"}});
  }
  families.push_back(std::move(wakes));
  if (sources_.task_counts) {
    absl::StatusOr<TaskCounts> counts = sources_.task_counts();
    if (counts.ok()) families.push_back(TasksByState(*counts));
  }
  return families;
}

}  // namespace corosched::server
