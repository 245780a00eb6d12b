#include "client/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/work_queue_runner.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace corosched {
namespace {

constexpr int kMaxConcurrency = 1000;
constexpr size_t kMaxQueueNameBytes = 64;
constexpr size_t kMaxIdentityBytes = 256;
constexpr absl::Duration kMaxPollWait = absl::Seconds(60);

// The self-pipe StopOnSignals' handler writes to: 's' per signal; 'q' from
// the worker itself ends the thread that reads it.
int g_signal_pipe[2] = {-1, -1};

void OnStopSignal(int /*signal*/) {
  const int saved_errno = errno;
  const char byte = 's';
  // Async-signal-safe; a full pipe already holds enough wake-ups.
  if (write(g_signal_pipe[1], &byte, 1) < 0) {
  }
  errno = saved_errno;
}

absl::Status CreateSignalPipe() {
  static std::once_flag once;
  static int error = 0;
  std::call_once(once, [] {
    if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) error = errno;
  });
  if (error != 0) {
    return absl::InternalError(absl::StrCat(
        "StopOnSignals: pipe2: ",
        std::error_code(error, std::generic_category()).message()));
  }
  return absl::OkStatus();
}

void SetStopHandlers(void (*handler)(int)) {
  struct sigaction action = {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

std::string DefaultIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(host[0] != '\0' ? host : "unknown-host", ":", getpid());
}

absl::Status ValidateQueueName(absl::string_view queue) {
  if (queue.empty() || queue.size() > kMaxQueueNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "queue: \"", queue, "\" is not a queue name: it must be 1 to ",
        kMaxQueueNameBytes, " bytes"));
  }
  for (char c : queue) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-' && c != '.') {
      return absl::InvalidArgumentError(
          absl::StrCat("queue: \"", queue,
                       "\" is not a queue name: use letters, digits, _ - ."));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateOptions(const WorkerOptions& options) {
  if (options.identity.size() > kMaxIdentityBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identity: ", options.identity.size(), " bytes is more than the ",
        kMaxIdentityBytes, " allowed"));
  }
  if (options.poll_wait < absl::ZeroDuration() ||
      options.poll_wait > kMaxPollWait) {
    return absl::InvalidArgumentError(
        absl::StrCat("poll_wait: ", absl::FormatDuration(options.poll_wait),
                     " is not from 0s to 60s"));
  }
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "call_timeout: ", absl::FormatDuration(options.call_timeout),
        " must be more than zero"));
  }
  if (options.retry_backoff <= absl::ZeroDuration() ||
      options.max_retry_backoff < options.retry_backoff) {
    return absl::InvalidArgumentError(
        "retry_backoff: must be more than zero and at most "
        "max_retry_backoff");
  }
  return absl::OkStatus();
}

WorkerOptions WithIdentity(WorkerOptions options) {
  if (options.identity.empty()) options.identity = DefaultIdentity();
  return options;
}

}  // namespace

// The Worker's state behind its stable header.
//
// Stop, as numbered steps (any thread, or the signal thread):
//   1. RequestStop(hard) marks stop_requested_ and tells each queue to take
//      nothing new (hard: cancel held items, notify hard_stop).
//   2. JoinAll (the first of Stop, Wait, or the destructor to get there;
//      the others wait on join_mu_) joins each queue's threads, whose
//      handlers finish and answer what they hold, then the heartbeat and
//      signal threads, and sets stopped_.
class WorkerCore {
 public:
  // `setup`: OK, or why the connection options cannot be used (Start
  // returns it).
  WorkerCore(const std::shared_ptr<grpc::ChannelInterface>& channel,
             CallHeaders headers, WorkerOptions options, absl::Status setup)
      : setup_(std::move(setup)),
        shared_(channel, std::move(headers), WithIdentity(std::move(options))) {
  }

  ~WorkerCore() { Stop(); }

  absl::Status Handle(std::string queue, int concurrency, WorkHandler handler)
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (absl::Status valid = ValidateQueueName(queue); !valid.ok()) {
      return valid;
    }
    if (concurrency < 1 || concurrency > kMaxConcurrency) {
      return absl::InvalidArgumentError(absl::StrCat(
          "concurrency: ", concurrency, " is not from 1 to ", kMaxConcurrency));
    }
    if (!handler) {
      return absl::InvalidArgumentError(
          absl::StrCat("handler: queue ", queue, " needs a handler"));
    }
    absl::MutexLock lock(&mu_);
    if (started_ || stop_requested_) {
      return absl::FailedPreconditionError(
          "Handle: the worker was already started or stopped");
    }
    for (const auto& runner : runners_) {
      if (runner->queue() == queue) {
        return absl::AlreadyExistsError(
            absl::StrCat("queue ", queue, " is already handled"));
      }
    }
    runners_.push_back(std::make_unique<WorkQueueRunner>(
        std::move(queue), concurrency, std::move(handler), shared_));
    return absl::OkStatus();
  }

  absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_) {
    if (!setup_.ok()) return setup_;
    if (absl::Status valid = ValidateOptions(shared_.options); !valid.ok()) {
      return valid;
    }
    absl::MutexLock lock(&mu_);
    if (started_ || stop_requested_) {
      return absl::FailedPreconditionError(
          "Start: the worker was already started or stopped");
    }
    if (runners_.empty()) {
      return absl::FailedPreconditionError(
          "Start: no queue is handled; call Handle first");
    }
    started_ = true;
    shared_.heartbeats.Start();
    for (const auto& runner : runners_) runner->Start();
    if (watch_signals_) {
      signal_thread_ = std::thread([this] { SignalLoop(); });
    }
    return absl::OkStatus();
  }

  void RequestStop(bool hard) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_requested_ && (!hard || hard_)) return;
      stop_requested_ = true;
      hard_ = hard_ || hard;
      if (!started_) return;
    }
    if (hard && !shared_.hard_stop.HasBeenNotified()) {
      shared_.hard_stop.Notify();
    }
    // runners_ is fixed once started.
    for (const auto& runner : runners_) runner->BeginStop(hard);
  }

  void Stop() {
    RequestStop(/*hard=*/false);
    JoinAll();
  }

  void Wait() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (!started_) return;
      mu_.Await(absl::Condition(&stop_requested_));
    }
    JoinAll();
  }

  void WatchSignals() ABSL_LOCKS_EXCLUDED(mu_) {
    if (absl::Status piped = CreateSignalPipe(); !piped.ok()) {
      // The default handlers stay: a signal still ends the process.
      shared_.ReportError(piped);
      return;
    }
    // Wake-ups from signals before this worker watched are not its own.
    char byte = 0;
    while (read(g_signal_pipe[0], &byte, 1) > 0) {
    }
    {
      absl::MutexLock lock(&mu_);
      watch_signals_ = true;
    }
    SetStopHandlers(&OnStopSignal);
  }

  Worker::Counters counters() const {
    // Each counter alone; relaxed loads are enough for statistics.
    return Worker::Counters{
        .completed = shared_.completed.load(std::memory_order_relaxed),
        .failed = shared_.failed.load(std::memory_order_relaxed),
        .lease_lost = shared_.lease_lost.load(std::memory_order_relaxed),
        .answers_retried =
            shared_.answers_retried.load(std::memory_order_relaxed)};
  }

 private:
  void JoinAll() ABSL_LOCKS_EXCLUDED(join_mu_, mu_) {
    absl::MutexLock join_lock(&join_mu_);
    {
      absl::MutexLock lock(&mu_);
      if (!started_ || stopped_) return;
    }
    for (const auto& runner : runners_) runner->Join();
    shared_.heartbeats.Stop();
    if (signal_thread_.joinable()) {
      SetStopHandlers(SIG_DFL);
      const char quit = 'q';
      while (write(g_signal_pipe[1], &quit, 1) < 0 && errno == EINTR) {
      }
      signal_thread_.join();
    }
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }

  // The first signal stops gracefully, a second at once.
  void SignalLoop() {
    int signals = 0;
    for (;;) {
      pollfd readable = {.fd = g_signal_pipe[0], .events = POLLIN};
      if (poll(&readable, 1, -1) < 0 && errno != EINTR) return;
      char byte = 0;
      while (read(g_signal_pipe[0], &byte, 1) > 0) {
        if (byte == 'q') return;
        RequestStop(/*hard=*/++signals > 1);
      }
    }
  }

  const absl::Status setup_;  // Start returns it unless OK
  WorkerShared shared_;
  // Only one thread joins; the others wait here until it has.
  absl::Mutex join_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  // Appended to by Handle before Start, fixed after.
  std::vector<std::unique_ptr<WorkQueueRunner>> runners_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool hard_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool watch_signals_ ABSL_GUARDED_BY(mu_) = false;
  std::thread signal_thread_;  // started by Start, joined by JoinAll
};

Worker::Worker(const std::shared_ptr<grpc::ChannelInterface>& channel,
               WorkerOptions options)
    : core_(std::make_unique<WorkerCore>(
          channel, CallHeaders(), std::move(options), absl::OkStatus())) {}

namespace {

// The Worker's core for `connection`: its channel and headers, or an unused
// channel and the error that Start will return.
std::unique_ptr<WorkerCore> NewCore(const ClientOptions& connection,
                                    WorkerOptions options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      NewChannel(connection);
  absl::StatusOr<CallHeaders> headers = CallHeaders::FromOptions(connection);
  absl::Status setup = !channel.ok() ? channel.status() : headers.status();
  if (!setup.ok()) {
    // Never connects: Start refuses first.
    return std::make_unique<WorkerCore>(
        grpc::CreateChannel(connection.address,
                            grpc::InsecureChannelCredentials()),
        CallHeaders(), std::move(options), std::move(setup));
  }
  return std::make_unique<WorkerCore>(*std::move(channel), *std::move(headers),
                                      std::move(options), absl::OkStatus());
}

}  // namespace

Worker::Worker(const ClientOptions& connection, WorkerOptions options)
    : core_(NewCore(connection, std::move(options))) {}

Worker::~Worker() = default;

absl::Status Worker::Handle(std::string queue, int concurrency,
                            WorkHandler handler) {
  return core_->Handle(std::move(queue), concurrency, std::move(handler));
}

absl::Status Worker::Start() { return core_->Start(); }
void Worker::Stop() { core_->Stop(); }
void Worker::Wait() { core_->Wait(); }

absl::Status Worker::Run() {
  if (absl::Status started = Start(); !started.ok()) return started;
  Wait();
  return absl::OkStatus();
}

void Worker::StopOnSignals(Worker& worker) { worker.core_->WatchSignals(); }

Worker::Counters Worker::counters() const { return core_->counters(); }

}  // namespace corosched
