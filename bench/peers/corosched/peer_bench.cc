// corosched_peer_bench: Corosched's side of bench/peers/run.sh. Jobs are
// tasks of one definition whose only state before the end is a `work` state
// on queue `bench`; a separate worker process (corosched_peer_worker, on
// corosched::Worker) takes them from the daemon and runs a no-op handler.
//
//   corosched_peer_bench --target 127.0.0.1:PORT --server-pid PID
//       --worker build/bench/peers/corosched/corosched_peer_worker
//       [--jobs N] [--concurrency C] [--batch B] [--rate R] [--seconds S]
//       [--warmup N] [--mode both|throughput|latency] [--durable TEXT]
//
// It measures what bench/peers/common.mjs measures for the peers, after an
// unreported warm-up of --warmup jobs:
//   throughput: N jobs submitted in SubmitTasks streams of B, one after the
//               other; from the first submit to the last completion: the
//               worker's last acknowledged completion, or, if later, the
//               moment GetQueueStats counts all N tasks completed.
//   latency:    open loop, one SubmitTask per job at R jobs/s for S seconds;
//               each job carries its due time (CLOCK_MONOTONIC) and the
//               worker records its handler's start minus that: p50 and p99.
// and prints one JSON line per measurement, in run.sh's "Third side" shape.
//
// CPU per job over each measurement: this process's (producer), the
// worker's own (reported by it), the daemon's (/proc/PID/stat).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/cpu_time.h"
#include "bench/peers/corosched/submit_loops.h"
#include "bench/peers/corosched/worker_child.h"
#include "client/client.h"
#include "grpcpp/grpcpp.h"

namespace corosched::peers {
namespace {

struct Options {
  std::string target;
  long server_pid = 0;
  std::string worker;
  int64_t jobs = 10000;
  int64_t concurrency = 16;
  int64_t batch = 500;
  double rate = 500;
  double seconds = 5;
  int64_t warmup = 200;
  std::string mode = "both";
  std::string durable =
      "sqlite wal synchronous=FULL, one fsync per group commit";
};

// What the worker reported for one measurement.
struct WorkerReport {
  double armed_cpu_us = 0;
  int64_t last_us = 0;
  double done_cpu_us = 0;
  std::optional<int64_t> p50_us;
  std::optional<int64_t> p99_us;
};

class Driver {
 public:
  Driver(const Options& options, std::unique_ptr<WorkerChild> worker)
      : options_(options),
        channel_(grpc::CreateChannel(options.target,
                                     grpc::InsecureChannelCredentials())),
        client_(channel_, ClientOptions{.address = options.target}),
        stub_(v1::Scheduler::NewStub(channel_)),
        worker_(std::move(worker)) {}

  absl::Status Register() {
    absl::StatusOr<v1::TaskDefinition> definition = BenchDefinition();
    if (!definition.ok()) return definition.status();
    auto registered = client_.RegisterDefinition(*definition);
    if (registered.ok() || absl::IsAlreadyExists(registered.status())) {
      return absl::OkStatus();
    }
    return registered.status();
  }

  absl::Status WaitForWorker() {
    absl::StatusOr<std::string> line = worker_->ReadLine(absl::Seconds(60));
    if (!line.ok()) return line.status();
    if (*line != "ready") {
      return absl::InternalError(
          absl::StrCat("the worker said \"", *line, "\", not \"ready\""));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Throughput(int64_t n) {
    return Measure("throughput", n, [this, n](int64_t) {
      return SubmitBulk(client_, n, options_.batch);
    });
  }

  absl::StatusOr<std::string> Latency() {
    const auto n =
        std::max<int64_t>(1, std::llround(options_.rate * options_.seconds));
    return Measure("latency", n, [this, n](int64_t start_us) {
      return SubmitOpenLoop(*stub_, n, options_.rate, start_us);
    });
  }

  absl::Status Stop() {
    if (absl::Status s = worker_->WriteLine("stop"); !s.ok()) return s;
    absl::StatusOr<std::string> line = worker_->ReadLine(absl::Seconds(60));
    if (!line.ok()) return line.status();
    absl::StatusOr<int> code = worker_->Wait(absl::Seconds(30));
    if (!code.ok()) return code.status();
    if (*code != 0) {
      return absl::InternalError(absl::StrCat("the worker exited ", *code));
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<std::string> Measure(
      const std::string& mode, int64_t n,
      const std::function<absl::Status(int64_t)>& enqueue) {
    absl::StatusOr<WorkerReport> report = Arm(n);
    if (!report.ok()) return report.status();
    absl::StatusOr<int64_t> completed_before = CompletedTasks();
    if (!completed_before.ok()) return completed_before.status();
    const double producer0 = bench::ProcessCpuSeconds();
    const std::optional<double> server0 =
        bench::ProcessCpuSeconds(options_.server_pid);
    const int64_t t0 = MonotonicMicros();
    if (absl::Status s = enqueue(t0); !s.ok()) return s;
    if (absl::Status s = ReadDone(*report); !s.ok()) return s;
    int64_t end_us = report->last_us;
    if (absl::Status s = AwaitCompleted(*completed_before + n); !s.ok()) {
      return s;
    }
    end_us = std::max(end_us, MonotonicMicros());
    const double producer1 = bench::ProcessCpuSeconds();
    const std::optional<double> server1 =
        bench::ProcessCpuSeconds(options_.server_pid);

    const auto per_job = [n](double us) {
      return absl::StrFormat("%.1f", us / static_cast<double>(n));
    };
    const auto or_null = [](const std::optional<int64_t>& v) {
      return v.has_value() ? absl::StrCat(*v) : std::string("null");
    };
    const bool latency = mode == "latency";
    return absl::StrCat(
        R"({"peer":"corosched","mode":")", mode, R"(","jobs":)", n,
        R"(,"concurrency":)", options_.concurrency, R"(,"jobs_per_s":)",
        absl::StrFormat("%.1f", static_cast<double>(n) /
                                    (static_cast<double>(end_us - t0) / 1e6)),
        R"(,"p50_us":)", latency ? or_null(report->p50_us) : "null",
        R"(,"p99_us":)", latency ? or_null(report->p99_us) : "null",
        R"(,"cpu_us_per_job":{"producer":)",
        per_job((producer1 - producer0) * 1e6), R"(,"worker":)",
        per_job(report->done_cpu_us - report->armed_cpu_us), R"(,"server":)",
        server0.has_value() && server1.has_value()
            ? per_job((*server1 - *server0) * 1e6)
            : "null",
        R"(},"durable":")", options_.durable, "\",",
        latency ? absl::StrCat(R"("rate_per_s":)", options_.rate,
                               R"(,"seconds":)", options_.seconds)
                : absl::StrCat(R"("batch":)", options_.batch),
        R"(,"version":")", ClientVersion(), "\"}");
  }

  // "arm N" -> "armed CPU_US".
  absl::StatusOr<WorkerReport> Arm(int64_t n) {
    if (absl::Status s = worker_->WriteLine(absl::StrCat("arm ", n)); !s.ok()) {
      return s;
    }
    absl::StatusOr<std::string> line = worker_->ReadLine(absl::Seconds(60));
    if (!line.ok()) return line.status();
    std::vector<std::string> words = absl::StrSplit(*line, ' ');
    WorkerReport report;
    if (words.size() != 2 || words[0] != "armed" ||
        !absl::SimpleAtod(words[1], &report.armed_cpu_us)) {
      return absl::InternalError(
          absl::StrCat("the worker said \"", *line, "\", not \"armed CPU\""));
    }
    return report;
  }

  // "done LAST_US CPU_US P50_US P99_US" (-1: no latency recorded).
  absl::Status ReadDone(WorkerReport& report) {
    absl::StatusOr<std::string> line = worker_->ReadLine(absl::Minutes(10));
    if (!line.ok()) return line.status();
    std::vector<std::string> words = absl::StrSplit(*line, ' ');
    int64_t p50 = -1;
    int64_t p99 = -1;
    if (words.size() != 5 || words[0] != "done" ||
        !absl::SimpleAtoi(words[1], &report.last_us) ||
        !absl::SimpleAtod(words[2], &report.done_cpu_us) ||
        !absl::SimpleAtoi(words[3], &p50) ||
        !absl::SimpleAtoi(words[4], &p99)) {
      return absl::InternalError(
          absl::StrCat("the worker said \"", *line, "\", not \"done ...\""));
    }
    if (p50 >= 0) report.p50_us = p50;
    if (p99 >= 0) report.p99_us = p99;
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> CompletedTasks() {
    absl::StatusOr<v1::QueueStats> stats = client_.GetQueueStats();
    if (!stats.ok()) return stats.status();
    const auto& counts = stats->tasks_by_status();
    const auto it = counts.find("TASK_STATUS_COMPLETED");
    return it == counts.end() ? 0 : static_cast<int64_t>(it->second);
  }

  // Polls GetQueueStats until `want` tasks are completed (bounded).
  absl::Status AwaitCompleted(int64_t want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (true) {
      absl::StatusOr<int64_t> completed = CompletedTasks();
      if (!completed.ok()) return completed.status();
      if (*completed >= want) return absl::OkStatus();
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "the worker reported every job done, but the daemon counts ",
            *completed, " completed tasks of ", want,
            " after 60 s (with --durability none it forgets finished tasks "
            "past --retain-finished: raise it)"));
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
  }

  const Options& options_;
  std::shared_ptr<grpc::Channel> channel_;
  Client client_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
  std::unique_ptr<WorkerChild> worker_;
};

int Usage(const std::string& problem) {
  std::fprintf(stderr,
               "corosched_peer_bench: %s\n"
               "usage: corosched_peer_bench --target HOST:PORT --server-pid "
               "PID --worker PATH\n"
               "  [--jobs N] [--concurrency C] [--batch B] [--rate R] "
               "[--seconds S]\n"
               "  [--warmup N] [--mode both|throughput|latency] "
               "[--durable TEXT]\n",
               problem.c_str());
  return 2;
}

// Parses the flags into `options`; an empty string, or what is wrong.
std::string ParseFlags(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return flag + " needs a value";
    const std::string value = argv[i + 1];
    bool ok = true;
    if (flag == "--target") {
      options.target = value;
    } else if (flag == "--worker") {
      options.worker = value;
    } else if (flag == "--mode") {
      options.mode = value;
      ok = value == "both" || value == "throughput" || value == "latency";
    } else if (flag == "--durable") {
      options.durable = value;
    } else if (flag == "--server-pid") {
      int64_t pid = 0;
      ok = absl::SimpleAtoi(value, &pid) && pid >= 0;
      options.server_pid = static_cast<long>(pid);
    } else if (flag == "--jobs" || flag == "--concurrency" ||
               flag == "--batch" || flag == "--warmup") {
      int64_t& field = flag == "--jobs"          ? options.jobs
                       : flag == "--concurrency" ? options.concurrency
                       : flag == "--batch"       ? options.batch
                                                 : options.warmup;
      ok = absl::SimpleAtoi(value, &field) &&
           (field > 0 || (flag == "--warmup" && field == 0));
    } else if (flag == "--rate" || flag == "--seconds") {
      double& field = flag == "--rate" ? options.rate : options.seconds;
      ok = absl::SimpleAtod(value, &field) && field > 0 && field < 1e7;
    } else {
      return "unknown flag " + flag;
    }
    if (!ok) return absl::StrCat(flag, ": bad value \"", value, "\"");
  }
  if (options.target.empty()) return "--target is required";
  if (options.worker.empty()) return "--worker is required";
  return "";
}

absl::Status RunAll(const Options& options) {
  absl::StatusOr<std::unique_ptr<WorkerChild>> worker =
      WorkerChild::Start({options.worker, "--target", options.target,
                          "--concurrency", absl::StrCat(options.concurrency)});
  if (!worker.ok()) return worker.status();
  Driver driver(options, *std::move(worker));
  if (absl::Status s = driver.Register(); !s.ok()) return s;
  if (absl::Status s = driver.WaitForWorker(); !s.ok()) return s;
  if (options.warmup > 0) {
    if (auto s = driver.Throughput(options.warmup); !s.ok()) return s.status();
  }
  std::vector<std::string> lines;
  if (options.mode != "latency") {
    absl::StatusOr<std::string> line = driver.Throughput(options.jobs);
    if (!line.ok()) return line.status();
    lines.push_back(*line);
  }
  if (options.mode != "throughput") {
    absl::StatusOr<std::string> line = driver.Latency();
    if (!line.ok()) return line.status();
    lines.push_back(*line);
  }
  if (absl::Status s = driver.Stop(); !s.ok()) return s;
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace corosched::peers

int main(int argc, char** argv) {
  corosched::peers::Options options;
  if (const std::string problem =
          corosched::peers::ParseFlags(argc, argv, options);
      !problem.empty()) {
    return corosched::peers::Usage(problem);
  }
  const absl::Status status = corosched::peers::RunAll(options);
  if (!status.ok()) {
    std::fprintf(stderr, "corosched_peer_bench: %s\n",
                 status.ToString().c_str());
    return 1;
  }
  return 0;
}
