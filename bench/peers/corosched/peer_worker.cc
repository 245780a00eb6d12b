// corosched_peer_worker: the worker process of corosched_peer_bench. A
// corosched::Worker on queue `bench` with a no-op handler and the given
// concurrency; the driver that started it speaks to it in lines:
//
//   worker -> driver  "ready"                  the Worker is started
//   driver -> worker  "arm N"                  count the next N jobs
//   worker -> driver  "armed CPU_US"           this process's CPU time so far
//   worker -> driver  "done LAST_US CPU_US P50_US P99_US"
//                     after the N-th job's handler returned: when
//                     (CLOCK_MONOTONIC µs), this process's CPU time, and the
//                     median and 99th percentile of start minus due time
//                     over the jobs that carried one (-1 when none did)
//   driver -> worker  "stop"                   Worker::Stop() (graceful),
//   worker -> driver  "stopped"                then exit 0
//
// A job's due time is its input's `ts` (CLOCK_MONOTONIC µs, written by the
// driver); 0 or absent: not a latency sample.
//
//   corosched_peer_worker --target 127.0.0.1:PORT [--concurrency C]
//       [--transport stream|poll]

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/cpu_time.h"
#include "bench/peers/corosched/monotonic_clock.h"
#include "client/worker.h"
#include "grpcpp/grpcpp.h"

namespace corosched::peers {
namespace {

constexpr char kQueue[] = "bench";

// Prints one protocol line, whole, to the driver.
void Say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

double CpuMicros() { return bench::ProcessCpuSeconds() * 1e6; }

// The nearest-rank percentile, as bench/peers/common.mjs takes it.
int64_t Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return -1;
  const auto rank =
      static_cast<int64_t>(std::ceil(q * static_cast<double>(sorted.size())));
  const int64_t last = static_cast<int64_t>(sorted.size()) - 1;
  return sorted[std::clamp<int64_t>(rank - 1, 0, last)];
}

// Counts the jobs of one measurement and their latencies; tells the driver
// when the armed number is done. Called from every handler thread.
class Tally {
 public:
  void Arm(int64_t n) {
    absl::MutexLock lock(&mu_);
    expected_ = n;
    completed_ = 0;
    latencies_us_.clear();
    latencies_us_.reserve(static_cast<size_t>(n));
    Say(absl::StrCat("armed ", static_cast<int64_t>(CpuMicros())));
  }

  void Started(int64_t due_us, int64_t start_us) {
    if (due_us <= 0) return;
    absl::MutexLock lock(&mu_);
    latencies_us_.push_back(start_us - due_us);
  }

  void Finished() {
    const int64_t now = MonotonicMicros();
    absl::MutexLock lock(&mu_);
    ++handled_;
    if (++completed_ != expected_) return;
    expected_ = std::numeric_limits<int64_t>::max();
    std::sort(latencies_us_.begin(), latencies_us_.end());
    Say(absl::StrCat("done ", now, " ", static_cast<int64_t>(CpuMicros()), " ",
                     Percentile(latencies_us_, 0.5), " ",
                     Percentile(latencies_us_, 0.99)));
  }

  // Jobs whose handler ran, over every measurement.
  int64_t handled() {
    absl::MutexLock lock(&mu_);
    return handled_;
  }

 private:
  absl::Mutex mu_;
  int64_t handled_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t expected_ ABSL_GUARDED_BY(mu_) = std::numeric_limits<int64_t>::max();
  int64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> latencies_us_ ABSL_GUARDED_BY(mu_);
};

int64_t DueMicros(const google::protobuf::Value& input) {
  if (!input.has_struct_value()) return 0;
  const auto& fields = input.struct_value().fields();
  const auto it = fields.find("ts");
  if (it == fields.end() || !it->second.has_number_value()) return 0;
  return static_cast<int64_t>(it->second.number_value());
}

struct Flags {
  std::string target;
  int concurrency = 16;
  WorkerOptions::Transport transport = WorkerOptions::Transport::kStream;
};

bool ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--target") {
      flags.target = value;
    } else if (flag == "--concurrency") {
      if (!absl::SimpleAtoi(value, &flags.concurrency)) return false;
    } else if (flag == "--transport" &&
               (value == "stream" || value == "poll")) {
      flags.transport = value == "stream" ? WorkerOptions::Transport::kStream
                                          : WorkerOptions::Transport::kPoll;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && !flags.target.empty();
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) {
    std::fprintf(stderr,
                 "usage: corosched_peer_worker --target HOST:PORT "
                 "[--concurrency C] [--transport stream|poll]\n");
    return 2;
  }
  Tally tally;
  WorkerOptions options;
  options.identity = "peer-bench-worker";
  options.transport = flags.transport;
  Worker worker(
      grpc::CreateChannel(flags.target, grpc::InsecureChannelCredentials()),
      options);
  absl::Status status = worker.Handle(
      kQueue, flags.concurrency,
      [&tally](WorkContext& work) -> absl::StatusOr<google::protobuf::Value> {
        tally.Started(DueMicros(work.input()), MonotonicMicros());
        tally.Finished();
        google::protobuf::Value result;  // JSON null: a no-op's result
        result.set_null_value(google::protobuf::NULL_VALUE);
        return result;
      });
  if (status.ok()) status = worker.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "corosched_peer_worker: %s\n",
                 status.ToString().c_str());
    return 1;
  }
  Say("ready");
  std::string line;
  while (std::getline(std::cin, line) && line != "stop") {
    int64_t n = 0;
    if (line.rfind("arm ", 0) == 0 && absl::SimpleAtoi(line.substr(4), &n) &&
        n > 0) {
      tally.Arm(n);
    } else {
      std::fprintf(stderr, "corosched_peer_worker: unknown command \"%s\"\n",
                   line.c_str());
    }
  }
  worker.Stop();
  const Worker::Counters counters = worker.counters();
  // Every handled job must have been completed: a refused answer would
  // leave its task waiting, and the measurement with it.
  if (counters.completed != static_cast<uint64_t>(tally.handled()) ||
      counters.failed != 0 || counters.lease_lost != 0) {
    std::fprintf(stderr,
                 "corosched_peer_worker: %lld jobs handled, %llu completions "
                 "accepted, %llu failed, %llu leases lost\n",
                 static_cast<long long>(tally.handled()),
                 static_cast<unsigned long long>(counters.completed),
                 static_cast<unsigned long long>(counters.failed),
                 static_cast<unsigned long long>(counters.lease_lost));
    return 1;
  }
  Say("stopped");
  return 0;
}

}  // namespace
}  // namespace corosched::peers

int main(int argc, char** argv) { return corosched::peers::Main(argc, argv); }
