// echo_server: the ceiling for bench/loadgen. A bare gRPC server built the way
// the daemon is (callback API, same ServerBuilder settings, same flags) whose
// handlers do nothing: corosched.v1.Scheduler's GetQueueStats answers an empty
// QueueStats at once, and SubmitTasks answers one empty SubmitTasksResponse
// per request. Every other method is left unimplemented.
//
// Usage: echo_server --listen 127.0.0.1:0 --ready-file PATH
// Writes its bound address to PATH (write, then rename) and serves until
// SIGTERM or SIGINT.

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "net/host_port.h"

namespace {

using corosched::v1::GetQueueStatsRequest;
using corosched::v1::QueueStats;
using corosched::v1::SubmitTaskRequest;
using corosched::v1::SubmitTasksResponse;

// Like the daemon's SubmitStream: a read stays outstanding while answers are
// written, up to kMaxQueued unwritten answers.
class EchoStream final
    : public grpc::ServerBidiReactor<SubmitTaskRequest, SubmitTasksResponse> {
 public:
  static constexpr size_t kMaxQueued = 64;

  EchoStream() {
    absl::MutexLock lock(&mu_);
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    bool write = false;
    bool read = false;
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!ok) {
        reads_done_ = true;
        finish = !writing_ && answers_.empty() && !finished_;
        finished_ = finished_ || finish;
      } else {
        answers_.emplace_back();
        if (!writing_) {
          writing_ = true;
          write = true;
        }
        if (answers_.size() < kMaxQueued) {
          reading_ = true;
          read = true;
        }
      }
    }
    if (finish) Finish(grpc::Status::OK);
    if (write) StartWrite(&Front());
    if (read) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    bool write = false;
    bool read = false;
    bool finish = false;
    grpc::Status status = grpc::Status::OK;
    {
      absl::MutexLock lock(&mu_);
      answers_.pop_front();
      writing_ = false;
      if (!ok) {
        status = grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
        finish = !finished_;
        finished_ = true;
      } else if (!answers_.empty()) {
        writing_ = true;
        write = true;
      } else if (reads_done_ && !finished_) {
        finish = true;
        finished_ = true;
      }
      if (ok && !reading_ && !reads_done_ && answers_.size() < kMaxQueued) {
        reading_ = true;
        read = true;
      }
    }
    if (finish) {
      Finish(status);
      return;
    }
    if (write) StartWrite(&Front());
    if (read) StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const SubmitTasksResponse& Front() {
    absl::MutexLock lock(&mu_);
    return answers_.front();
  }

  SubmitTaskRequest request_;
  absl::Mutex mu_;
  std::deque<SubmitTasksResponse> answers_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class EchoService final : public corosched::v1::Scheduler::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetQueueStats(grpc::CallbackServerContext* context,
                                          const GetQueueStatsRequest*,
                                          QueueStats*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<SubmitTaskRequest, SubmitTasksResponse>* SubmitTasks(
      grpc::CallbackServerContext*) override {
    return new EchoStream();
  }
};

int Usage() {
  std::fprintf(stderr,
               "usage: echo_server --listen HOST:PORT [--ready-file PATH]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  std::string ready_file;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return Usage();
    if (arg == "--listen") {
      listen = argv[++i];
    } else if (arg == "--ready-file") {
      ready_file = argv[++i];
    } else {
      return Usage();
    }
  }

  // Block the stop signals before gRPC starts its threads, so only sigwait
  // below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  // The daemon's settings (server/daemon/daemon.cc).
  builder.SetMaxReceiveMessageSize(1 << 20);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  absl::StatusOr<corosched::HostPort> bound = corosched::SplitHostPort(listen);
  if (server == nullptr || port == 0 || !bound.ok()) {
    std::fprintf(stderr, "echo_server: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  bound->port = static_cast<uint16_t>(port);
  const std::string address = bound->ToString();
  if (!ready_file.empty()) {
    const std::string temporary = ready_file + ".tmp";
    {
      std::ofstream out(temporary, std::ios::trunc);
      out << address << "\n";
      if (!out.flush()) {
        std::fprintf(stderr, "echo_server: cannot write %s\n",
                     temporary.c_str());
        return 1;
      }
    }
    std::error_code error;
    std::filesystem::rename(temporary, ready_file, error);
    if (error) {
      std::fprintf(stderr, "echo_server: %s: %s\n", ready_file.c_str(),
                   error.message().c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "echo_server: serving on %s\n", address.c_str());

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}
