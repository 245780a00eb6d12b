// corosched_loadgen: drives a Scheduler service (the daemon, or echo_server as
// the ceiling) over loopback with the gRPC callback client API, and prints one
// JSON line: {"mode":..,"calls_per_s":..,"p50_us":..,"p99_us":..,"errors":..}.
//
// CPU: the line also carries "client_cpu_us", this process's CPU time (user +
// system, every thread) per answered call over the timed window, and with
// --server-pid PID "server_cpu_us", the same for that process read from
// /proc/PID/stat. On a machine the client shares with the server, the two
// together say what one call costs the machine, which is what bounds the rate
// once the cores are busy.
//
// Modes (--mode):
//   unary-echo      GetQueueStats (echo_server answers at once)
//   stream-echo     pipelined SubmitTasks (echo_server answers each at once)
//   submit          SubmitTask of examples/hello.json, sent inline
//   submit-stream   pipelined SubmitTasks of the same request
//   wake            WakeTask "go" to tasks created up front, each awaiting
//                   "go" forever (the await loops back to itself)
//   latency-echo    unary-echo with one call in flight (1 channel x 1)
//   latency-submit  submit with one call in flight (1 channel x 1)
//   latency-first-poll
//                   one submit at a time; each sample is the time from just
//                   before the call to the task's first poll, read as the
//                   time of its first event after the submission's own
//                   (WatchTask, once the submit is answered). Both times are
//                   the same host's wall clock (absl::Now), so they compare.
//
// Unary modes keep --inflight calls outstanding on each of --channels
// channels; stream modes open one stream per channel and keep --inflight
// requests written but unanswered on it. A run stops issuing after --seconds
// or --max-calls calls, whichever comes first; every call has a deadline.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/cpu_time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"

namespace {

namespace v1 = corosched::v1;
using Clock = std::chrono::steady_clock;

// examples/hello.json.
constexpr std::string_view kHello = R"({"name": "hello", "initial": "HELLO",
  "states": {
    "HELLO": {"emit": "Hello, ", "yield": {"next": "WORLD"}},
    "WORLD": {"emit": "World!\n", "yield": {"next": "END"}},
    "END": {"complete": {}}}})";
// Awaits "go" forever: every wake is consumed and the task stays alive. The
// validator wants an end reachable, hence "stop" (never sent).
constexpr std::string_view kWaiter = R"({"name": "loadgen-waiter",
  "initial": "WAIT", "states": {
    "WAIT": {"await": {"signals": {"go": "WAIT", "stop": "END"}}},
    "END": {"complete": {}}}})";

struct Options {
  std::string mode;
  std::string target;
  int channels = 4;
  int inflight = 16;
  double seconds = 5;
  int64_t max_calls = 50'000'000;
  // 0: no server CPU is measured.
  long server_pid = 0;
};

// CPU spent between Start and Stop, by this process and the server.
class CpuWindow {
 public:
  explicit CpuWindow(long server_pid) : server_pid_(server_pid) {}
  void Start() {
    client_start_ = corosched::bench::ProcessCpuSeconds();
    if (server_pid_ != 0)
      server_start_ = corosched::bench::ProcessCpuSeconds(server_pid_);
  }
  void Stop() {
    client_seconds_ = corosched::bench::ProcessCpuSeconds() - client_start_;
    if (server_pid_ == 0 || !server_start_.has_value()) return;
    if (std::optional<double> now =
            corosched::bench::ProcessCpuSeconds(server_pid_)) {
      server_seconds_ = *now - *server_start_;
    }
  }
  double client_seconds() const { return client_seconds_; }
  // Nullopt without --server-pid, or when /proc could not be read.
  std::optional<double> server_seconds() const { return server_seconds_; }

 private:
  const long server_pid_;
  double client_start_ = 0;
  double client_seconds_ = 0;
  std::optional<double> server_start_;
  std::optional<double> server_seconds_;
};

// What the run measured; each Loop fills its own, merged at the end.
struct Tally {
  int64_t ok = 0;
  int64_t errors = 0;
  // WakeTask answers BUFFERED rather than CONSUMED (the task was not yet
  // back in its await).
  int64_t buffered = 0;
  std::vector<uint32_t> latencies_us;
  std::string first_error;

  void Record(const grpc::Status& status, Clock::time_point start) {
    if (status.ok()) {
      ++ok;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          Clock::now() - start)
                          .count();
      latencies_us.push_back(static_cast<uint32_t>(us));
    } else {
      ++errors;
      if (first_error.empty()) {
        first_error =
            std::to_string(status.error_code()) + ": " + status.error_message();
      }
    }
  }
};

// Shared by every loop: when to stop issuing, and who is still running.
class Run {
 public:
  Run(const Options& options)
      : deadline_(Clock::now() + std::chrono::microseconds(static_cast<int64_t>(
                                     options.seconds * 1e6))),
        max_calls_(options.max_calls) {}

  // Whether one more call may be issued (and counts it).
  bool Take() {
    return Clock::now() < deadline_ &&
           issued_.fetch_add(1, std::memory_order_relaxed) < max_calls_;
  }
  std::chrono::system_clock::time_point CallDeadline() const {
    return std::chrono::system_clock::now() + std::chrono::seconds(30);
  }

  void Started() {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  void Finished(Tally tally) {
    absl::MutexLock lock(&mu_);
    --running_;
    tallies_.push_back(std::move(tally));
  }
  // Waits (bounded) for every loop to finish; false on timeout.
  bool Wait(absl::Duration limit) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return running_ == 0;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), limit);
  }
  std::vector<Tally> TakeTallies() {
    absl::MutexLock lock(&mu_);
    return std::move(tallies_);
  }

 private:
  const Clock::time_point deadline_;
  const int64_t max_calls_;
  std::atomic<int64_t> issued_{0};
  absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Tally> tallies_ ABSL_GUARDED_BY(mu_);
};

bool Buffered(const v1::WakeTaskResponse& response) {
  return response.disposition() == v1::WakeTaskResponse::BUFFERED;
}
template <typename Response>
bool Buffered(const Response&) {
  return false;
}

// One chain of unary calls: the next is issued from the previous one's
// callback, so the chain's own state needs no lock.
template <typename Request, typename Response>
class UnaryLoop {
 public:
  using Issue = void (*)(v1::Scheduler::Stub*, grpc::ClientContext*,
                         const Request*, Response*,
                         std::function<void(grpc::Status)>);

  UnaryLoop(Run& run, v1::Scheduler::Stub* stub, Issue issue,
            std::vector<Request> requests)
      : run_(run), stub_(stub), issue_(issue), requests_(std::move(requests)) {}

  void Start() {
    run_.Started();
    Next();
  }

 private:
  void Next() {
    if (!run_.Take()) {
      run_.Finished(std::move(tally_));
      delete this;
      return;
    }
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(run_.CallDeadline());
    response_.Clear();
    const Request* request = &requests_[next_request_++ % requests_.size()];
    const Clock::time_point start = Clock::now();
    issue_(stub_, context_.get(), request, &response_,
           [this, start](const grpc::Status& status) {
             tally_.Record(status, start);
             if (status.ok() && Buffered(response_)) ++tally_.buffered;
             Next();
           });
  }

  Run& run_;
  v1::Scheduler::Stub* const stub_;
  const Issue issue_;
  const std::vector<Request> requests_;
  size_t next_request_ = 0;
  std::unique_ptr<grpc::ClientContext> context_;
  Response response_;
  Tally tally_;
};

// One SubmitTasks stream with up to `window` requests written and not yet
// answered. A read is always outstanding; answers come back in order, so the
// send times form a queue.
class StreamLoop final
    : public grpc::ClientBidiReactor<v1::SubmitTaskRequest,
                                     v1::SubmitTasksResponse> {
 public:
  StreamLoop(Run& run, v1::Scheduler::Stub* stub, v1::SubmitTaskRequest request,
             int window)
      : run_(run), request_(std::move(request)), window_(window) {
    context_.set_deadline(run_.CallDeadline());
    stub->async()->SubmitTasks(&context_, this);
  }

  void Start() {
    run_.Started();
    StartRead(&response_);
    StartCall();
    WriteMore();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is ending; OnDone follows
    {
      absl::MutexLock lock(&mu_);
      const grpc::Status status =
          response_.code() == 0
              ? grpc::Status::OK
              : grpc::Status(static_cast<grpc::StatusCode>(response_.code()),
                             response_.message());
      tally_.Record(status, sent_.front());
      sent_.pop_front();
    }
    StartRead(&response_);
    WriteMore();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) stopped_ = true;
    }
    WriteMore();
  }

  void OnDone(const grpc::Status& status) override {
    Tally tally;
    {
      absl::MutexLock lock(&mu_);
      if (!status.ok()) tally_.Record(status, Clock::now());
      tally_.errors += static_cast<int64_t>(sent_.size());
      tally = std::move(tally_);
    }
    run_.Finished(std::move(tally));
    delete this;
  }

 private:
  // Writes the next request if the window allows, or half-closes once the
  // run is over and every answer is in.
  void WriteMore() {
    enum { kNothing, kWrite, kWritesDone } action = kNothing;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || writes_done_) return;
      if (!stopped_ && static_cast<int>(sent_.size()) < window_) {
        if (run_.Take()) {
          sent_.push_back(Clock::now());
          writing_ = true;
          action = kWrite;
        } else {
          stopped_ = true;
        }
      }
      if (stopped_ && sent_.empty()) {
        writes_done_ = true;
        action = kWritesDone;
      }
    }
    if (action == kWrite) StartWrite(&request_);
    if (action == kWritesDone) StartWritesDone();
  }

  Run& run_;
  grpc::ClientContext context_;
  const v1::SubmitTaskRequest request_;
  const int window_;
  v1::SubmitTasksResponse response_;
  absl::Mutex mu_;
  std::deque<Clock::time_point> sent_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  Tally tally_ ABSL_GUARDED_BY(mu_);
};

v1::SubmitTaskRequest InlineRequest(std::string_view json) {
  v1::SubmitTaskRequest request;
  const auto status = google::protobuf::util::JsonStringToMessage(
      std::string(json), request.mutable_definition());
  if (!status.ok()) {
    std::fprintf(stderr, "loadgen: bad definition: %s\n",
                 status.ToString().c_str());
    std::exit(1);  // NOLINT(concurrency-mt-unsafe): set-up, before any call
  }
  return request;
}

// Creates `count` waiter tasks and returns one WakeTask request per task.
std::vector<v1::WakeTaskRequest> CreateWaiters(v1::Scheduler::Stub* stub,
                                               int count) {
  const v1::SubmitTaskRequest submit = InlineRequest(kWaiter);
  std::vector<v1::WakeTaskRequest> wakes;
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::SubmitTaskResponse response;
    const grpc::Status status = stub->SubmitTask(&context, submit, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "loadgen: creating waiter %d: %s\n", i,
                   status.error_message().c_str());
      std::exit(1);  // NOLINT(concurrency-mt-unsafe): set-up, before any call
    }
    v1::WakeTaskRequest wake;
    wake.set_task_id(response.task().id());
    wake.set_signal("go");
    wakes.push_back(std::move(wake));
  }
  return wakes;
}

// latency-first-poll: submit, then read back when the task was first polled.
Tally FirstPollLoop(Run& run, v1::Scheduler::Stub* stub,
                    const v1::SubmitTaskRequest& request) {
  Tally tally;
  auto fail = [&tally](const grpc::Status& status) {
    ++tally.errors;
    if (tally.first_error.empty()) {
      tally.first_error =
          std::to_string(status.error_code()) + ": " + status.error_message();
    }
  };
  while (run.Take()) {
    grpc::ClientContext submit_context;
    submit_context.set_deadline(run.CallDeadline());
    v1::SubmitTaskResponse submitted;
    const absl::Time sent = absl::Now();
    grpc::Status status =
        stub->SubmitTask(&submit_context, request, &submitted);
    if (!status.ok()) {
      fail(status);
      continue;
    }
    // Event 1 is the submission's; the first poll records the next ones.
    grpc::ClientContext watch_context;
    watch_context.set_deadline(run.CallDeadline());
    v1::WatchTaskRequest watch;
    watch.set_task_id(submitted.task().id());
    watch.set_after_sequence(1);
    auto reader = stub->WatchTask(&watch_context, watch);
    v1::TaskEvent event;
    std::optional<absl::Time> first_poll;
    while (reader->Read(&event)) {
      if (!first_poll.has_value()) {
        first_poll = absl::FromUnixSeconds(event.time().seconds()) +
                     absl::Nanoseconds(event.time().nanos());
      }
    }
    status = reader->Finish();
    if (!status.ok() || !first_poll.has_value()) {
      fail(status.ok() ? grpc::Status(grpc::StatusCode::INTERNAL,
                                      "the task recorded no poll")
                       : status);
      continue;
    }
    ++tally.ok;
    tally.latencies_us.push_back(static_cast<uint32_t>(
        std::max<int64_t>(0, absl::ToInt64Microseconds(*first_poll - sent))));
  }
  return tally;
}

uint32_t Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index =
      static_cast<size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: corosched_loadgen --mode MODE --target HOST:PORT [--channels N]\n"
      "         [--inflight N] [--seconds S] [--max-calls N] [--server-pid "
      "PID]\n"
      "modes: unary-echo stream-echo submit submit-stream wake latency-echo\n"
      "       latency-submit latency-first-poll\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return Usage();
    const char* value = argv[++i];
    if (arg == "--mode") {
      options.mode = value;
    } else if (arg == "--target") {
      options.target = value;
    } else if (arg == "--channels") {
      options.channels = std::atoi(value);
    } else if (arg == "--inflight") {
      options.inflight = std::atoi(value);
    } else if (arg == "--seconds") {
      options.seconds = std::atof(value);
    } else if (arg == "--max-calls") {
      options.max_calls = std::atoll(value);
    } else if (arg == "--server-pid") {
      options.server_pid = std::atol(value);
    } else {
      return Usage();
    }
  }
  const std::string& mode = options.mode;
  const bool latency = mode == "latency-echo" || mode == "latency-submit" ||
                       mode == "latency-first-poll";
  if (latency) options.channels = options.inflight = 1;
  if (options.target.empty() || options.channels < 1 || options.inflight < 1 ||
      options.seconds <= 0 || options.max_calls < 1 || options.server_pid < 0) {
    return Usage();
  }

  std::vector<std::unique_ptr<v1::Scheduler::Stub>> stubs;
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments args;
    // A channel of its own, not a subchannel shared with the others.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("corosched.loadgen.channel", i);
    auto channel = grpc::CreateCustomChannel(
        options.target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(5))) {
      std::fprintf(stderr, "loadgen: cannot connect to %s\n",
                   options.target.c_str());
      return 1;
    }
    stubs.push_back(v1::Scheduler::NewStub(channel));
  }

  // Set up before the clock starts.
  const v1::SubmitTaskRequest hello = InlineRequest(kHello);
  std::vector<v1::WakeTaskRequest> wakes;
  if (mode == "wake") {
    wakes = CreateWaiters(stubs[0].get(), options.channels * options.inflight);
  }

  Run run(options);
  CpuWindow cpu(options.server_pid);
  cpu.Start();
  const Clock::time_point start = Clock::now();
  if (mode == "latency-first-poll") {
    run.Started();
    run.Finished(FirstPollLoop(run, stubs[0].get(), hello));
  }
  for (int c = 0; mode != "latency-first-poll" && c < options.channels; ++c) {
    v1::Scheduler::Stub* stub = stubs[static_cast<size_t>(c)].get();
    if (mode == "stream-echo" || mode == "submit-stream") {
      (new StreamLoop(run, stub, hello, options.inflight))->Start();
      continue;
    }
    for (int k = 0; k < options.inflight; ++k) {
      if (mode == "unary-echo" || mode == "latency-echo") {
        (new UnaryLoop<v1::GetQueueStatsRequest, v1::QueueStats>(
             run, stub,
             [](v1::Scheduler::Stub* s, grpc::ClientContext* context,
                const v1::GetQueueStatsRequest* request,
                v1::QueueStats* response,
                std::function<void(grpc::Status)> done) {
               s->async()->GetQueueStats(context, request, response,
                                         std::move(done));
             },
             {v1::GetQueueStatsRequest()}))
            ->Start();
      } else if (mode == "submit" || mode == "latency-submit") {
        (new UnaryLoop<v1::SubmitTaskRequest, v1::SubmitTaskResponse>(
             run, stub,
             [](v1::Scheduler::Stub* s, grpc::ClientContext* context,
                const v1::SubmitTaskRequest* request,
                v1::SubmitTaskResponse* response,
                std::function<void(grpc::Status)> done) {
               s->async()->SubmitTask(context, request, response,
                                      std::move(done));
             },
             {hello}))
            ->Start();
      } else if (mode == "wake") {
        // Each chain wakes its own task, so wakes to one task never overlap.
        const size_t task =
            static_cast<size_t>(c) * static_cast<size_t>(options.inflight) +
            static_cast<size_t>(k);
        (new UnaryLoop<v1::WakeTaskRequest, v1::WakeTaskResponse>(
             run, stub,
             [](v1::Scheduler::Stub* s, grpc::ClientContext* context,
                const v1::WakeTaskRequest* request,
                v1::WakeTaskResponse* response,
                std::function<void(grpc::Status)> done) {
               s->async()->WakeTask(context, request, response,
                                    std::move(done));
             },
             {wakes[task]}))
            ->Start();
      } else {
        return Usage();
      }
    }
  }
  // Calls stop being issued after --seconds; each has a 30 s deadline.
  if (!run.Wait(absl::Seconds(options.seconds + 40))) {
    std::fprintf(stderr, "loadgen: calls still running; giving up\n");
    return 1;
  }
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  cpu.Stop();

  Tally total;
  for (Tally& tally : run.TakeTallies()) {
    total.ok += tally.ok;
    total.errors += tally.errors;
    total.buffered += tally.buffered;
    total.latencies_us.insert(total.latencies_us.end(),
                              tally.latencies_us.begin(),
                              tally.latencies_us.end());
    if (total.first_error.empty()) total.first_error = tally.first_error;
  }
  if (!total.first_error.empty()) {
    std::fprintf(stderr, "loadgen: first error: %s\n",
                 total.first_error.c_str());
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  // Per answered call; -1 when nothing was answered or measured.
  const double calls = static_cast<double>(total.ok);
  auto per_call_us = [calls](std::optional<double> seconds) {
    return calls > 0 && seconds.has_value() ? *seconds * 1e6 / calls : -1.0;
  };
  std::printf(
      "{\"mode\":\"%s\",\"calls_per_s\":%.0f,\"p50_us\":%u,\"p99_us\":%u,"
      "\"errors\":%lld,\"calls\":%lld,\"seconds\":%.2f,\"channels\":%d,"
      "\"inflight\":%d,\"buffered\":%lld,\"client_cpu_us\":%.1f,"
      "\"server_cpu_us\":%.1f}\n",
      mode.c_str(), static_cast<double>(total.ok) / elapsed,
      Percentile(total.latencies_us, 0.50),
      Percentile(total.latencies_us, 0.99),
      static_cast<long long>(total.errors), static_cast<long long>(total.ok),
      elapsed, options.channels, options.inflight,
      static_cast<long long>(total.buffered), per_call_us(cpu.client_seconds()),
      per_call_us(cpu.server_seconds()));
  return 0;
}
