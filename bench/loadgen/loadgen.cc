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
// Credentials, as the client library sends them (client/connection.h):
// --tls-ca FILE (and --tls-server-name NAME) connects with TLS, --token-file
// FILE sends its token and --namespace NS the namespace on every call
// (bench/security/run.sh compares that with plaintext).
//
// Unary modes keep --inflight calls outstanding on each of --channels
// channels; stream modes open one stream per channel and keep --inflight
// requests written but unanswered on it. A run stops issuing after --seconds
// or --max-calls calls, whichever comes first; every call has a deadline.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/cpu_time.h"
#include "bench/loadgen/call_loops.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"

namespace {

namespace v1 = corosched::v1;
using corosched::loadgen::Clock;
using corosched::loadgen::CpuWindow;
using corosched::loadgen::Run;
using corosched::loadgen::StreamLoop;
using corosched::loadgen::Tally;
using corosched::loadgen::UnaryLoop;

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
  // TLS (on with --tls-ca), --token-file and --namespace: what the
  // connection and every call carry (address and timeout are unused).
  corosched::ClientOptions connection;
  std::string token_file;
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
std::vector<v1::WakeTaskRequest> CreateWaiters(
    v1::Scheduler::Stub* stub, const corosched::CallHeaders& headers,
    int count) {
  const v1::SubmitTaskRequest submit = InlineRequest(kWaiter);
  std::vector<v1::WakeTaskRequest> wakes;
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext context;
    headers.AddTo(&context);
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
    run.Prepare(&submit_context);
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
    run.Prepare(&watch_context);
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

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "loadgen: %s\n", std::string(status.message()).c_str());
  return 1;
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: corosched_loadgen --mode MODE --target HOST:PORT [--channels N]\n"
      "         [--inflight N] [--seconds S] [--max-calls N] [--server-pid "
      "PID]\n"
      "         [--tls-ca FILE [--tls-server-name NAME]] [--token-file FILE]\n"
      "         [--namespace NS]\n"
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
    } else if (arg == "--tls-ca") {
      options.connection.tls.ca_file = value;
    } else if (arg == "--tls-server-name") {
      options.connection.tls.server_name = value;
    } else if (arg == "--token-file") {
      options.token_file = value;
    } else if (arg == "--namespace") {
      options.connection.namespace_name = value;
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

  options.connection.address = options.target;
  if (!options.token_file.empty()) {
    auto token = corosched::ReadSmallFile("the token file", options.token_file);
    if (!token.ok()) return Fail(token.status());
    options.connection.token = std::string(absl::StripAsciiWhitespace(*token));
  }
  auto headers = corosched::CallHeaders::FromOptions(options.connection);
  if (!headers.ok()) return Fail(headers.status());

  std::vector<std::unique_ptr<v1::Scheduler::Stub>> stubs;
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments args;
    // A channel of its own, not a subchannel shared with the others.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("corosched.loadgen.channel", i);
    auto made = corosched::NewChannel(options.connection, args);
    if (!made.ok()) return Fail(made.status());
    std::shared_ptr<grpc::Channel> channel = *std::move(made);
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
    wakes = CreateWaiters(stubs[0].get(), *headers,
                          options.channels * options.inflight);
  }

  Run run(options.seconds, options.max_calls, *headers);
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
