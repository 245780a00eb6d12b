#include "client/cli/worker_command.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/cli/child_process.h"
#include "client/cli/command_supervisor.h"
#include "client/cli/find_program.h"
#include "client/cli/work_answer.h"
#include "client/worker.h"
#include "google/protobuf/util/json_util.h"

namespace corosched::cli {
namespace {

// How often each running command's item is asked whether it was cancelled
// (the answer changes only with a heartbeat, every third of the work's
// heartbeat interval).
constexpr absl::Duration kCancelCheck = absl::Milliseconds(100);

// Room for a result of kWorkResultLimit and the item around it.
constexpr int kMaxMessageBytes = 4 << 20;

// Lines of the worker's own, whole, from any thread.
class WorkerLog {
 public:
  explicit WorkerLog(std::ostream& err) : err_(err) {}

  void Line(absl::string_view line) {
    absl::MutexLock lock(&mu_);
    err_ << "corosched worker: " << line << "\n" << std::flush;
  }

 private:
  absl::Mutex mu_;
  std::ostream& err_ ABSL_GUARDED_BY(mu_);
};

// The write end of the StopSignals pipe, or -1: read by the signal handler,
// so an atomic (lock-free, as a handler needs) at namespace scope.
std::atomic<int> signal_write_fd{-1};

// SIGTERM and SIGINT, turned into bytes on a pipe that the main thread
// waits on, so that the handler does nothing but write(2).
class StopSignals {
 public:
  StopSignals() = default;
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  ~StopSignals() {
    if (fds_[1] < 0) return;
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGINT, &old_int_, nullptr);
    signal_write_fd.store(-1);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  absl::Status Install() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat(
          "pipe2 for signals: ", std::generic_category().message(errno)));
    }
    signal_write_fd.store(fds_[1]);
    struct sigaction action = {};
    action.sa_handler = &OnSignal;  // NOLINT: a C union member
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGTERM, &action, &old_term_);
    ::sigaction(SIGINT, &action, &old_int_);
    return absl::OkStatus();
  }

  // Blocks until a signal came (true), or Wake was called or the pipe
  // cannot be read (false: no signal will come through it).
  bool Next() {
    char byte = 0;
    while (::read(fds_[0], &byte, 1) < 0 && errno == EINTR) {
    }
    return byte == kSignalByte;
  }

  // Ends a Next() that waits, from any thread.
  void Wake() {
    const char byte = kWakeByte;
    (void)!::write(fds_[1], &byte, 1);
  }

 private:
  static constexpr char kSignalByte = 's';
  static constexpr char kWakeByte = 'w';

  static void OnSignal(int /*signal*/) {
    const int saved_errno = errno;
    const int fd = signal_write_fd.load();
    const char byte = kSignalByte;
    if (fd >= 0) (void)!::write(fd, &byte, 1);
    errno = saved_errno;
  }

  int fds_[2] = {-1, -1};
  struct sigaction old_term_ = {};
  struct sigaction old_int_ = {};
};

std::string DefaultIdentity() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(host[0] != '\0' ? host : "localhost", ":", ::getpid());
}

std::string InputJson(const google::protobuf::Value& input) {
  std::string json;
  if (input.kind_case() == google::protobuf::Value::KIND_NOT_SET ||
      !google::protobuf::util::MessageToJsonString(input, &json).ok()) {
    return "null";
  }
  return json;
}

// Runs the command for one item (on a Worker's handler thread).
class ItemRunner {
 public:
  ItemRunner(const WorkerCommand& command, const ClientOptions& connection,
             std::string identity, CommandSupervisor* supervisor,
             WorkerLog* log)
      : command_(command),
        connection_(connection),
        identity_(std::move(identity)),
        supervisor_(supervisor),
        log_(log) {}

  absl::StatusOr<google::protobuf::Value> Run(WorkContext& work) {
    const absl::Time started = absl::Now();
    const WorkAnswer answer = Answer(work);
    log_->Line(WorkLogLine(work.task_id(), work.attempt(), answer,
                           absl::Now() - started));
    if (answer.completed) return answer.result;
    return WorkError(answer.error, answer.message, answer.retryable);
  }

 private:
  WorkAnswer Answer(WorkContext& work) {
    ChildOptions options{
        .argv = command_.command,
        .env = {{"COROSCHED_TASK_ID", work.task_id()},
                {"COROSCHED_ATTEMPT", absl::StrCat(work.attempt())},
                {"COROSCHED_QUEUE", work.queue()},
                {"COROSCHED_WORKER_IDENTITY", identity_},
                {"COROSCHED_ADDR", connection_.address},
                // So that `corosched` in the command acts in the same
                // namespace and trusts the same CA; the token is not passed.
                {"COROSCHED_NAMESPACE", connection_.namespace_name},
                {"COROSCHED_TLS_CA", connection_.tls.ca_file}},
        .stdin_data = absl::StrCat(InputJson(work.input()), "\n"),
        .stdout_limit = kWorkResultLimit,
        .stderr_prefix =
            absl::StrCat("[", work.task_id(), "#", work.attempt(), "] ")};
    absl::StatusOr<std::unique_ptr<ChildProcess>> child =
        ChildProcess::Start(options);
    if (!child.ok()) return StartFailure(child.status());
    supervisor_->Add(child->get(), [&work] { return work.cancel_requested(); });
    absl::StatusOr<ChildOutcome> outcome = (*child)->Wait();
    const StopReason stopped = supervisor_->Remove(child->get());
    if (!outcome.ok()) {
      return WorkAnswer{.error = "worker_error",
                        .message = std::string(outcome.status().message()),
                        .retryable = true};
    }
    return AnswerFor(*outcome, stopped, kWorkResultLimit, command_.command[0]);
  }

  const WorkerCommand& command_;
  const ClientOptions& connection_;
  const std::string identity_;
  CommandSupervisor* const supervisor_;
  WorkerLog* const log_;
};

ExitCode Refused(std::ostream& err, const absl::Status& status) {
  err << "corosched: worker: " << status.message() << "\n" << std::flush;
  return status.code() == absl::StatusCode::kInvalidArgument ||
                 status.code() == absl::StatusCode::kNotFound
             ? kExitUsage
             : kExitFailure;
}

// Waits for the first signal, stops `worker` gracefully on another thread,
// and kills the running commands at a second signal.
void ServeUntilStopped(Worker& worker, StopSignals& signals,
                       CommandSupervisor& supervisor, WorkerLog& log) {
  // Only a signal writes to the pipe before the stopper starts; a pipe that
  // cannot be read stops the worker too rather than spin.
  signals.Next();
  log.Line(
      "stopping: taking no more items, finishing the ones held (signal "
      "again to kill them)");
  std::thread stopper([&worker, &signals] {
    worker.Stop();
    signals.Wake();
  });
  bool killed = false;
  while (signals.Next()) {
    if (killed) continue;
    killed = true;
    log.Line("killing the running commands");
    supervisor.StopAll();
  }
  stopper.join();
}

}  // namespace

ExitCode RunWorker(const WorkerCommand& command,
                   const ClientOptions& connection, std::ostream& err) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): no thread sets the environment
  const char* path = std::getenv("PATH");
  absl::StatusOr<std::string> program =
      FindProgram(command.command[0], path != nullptr ? path : "/usr/bin:/bin");
  if (!program.ok()) return Refused(err, program.status());
  const std::string identity =
      command.identity.empty() ? DefaultIdentity() : command.identity;

  StopSignals signals;
  if (absl::Status installed = signals.Install(); !installed.ok()) {
    return Refused(err, installed);
  }
  WorkerLog log(err);
  CommandSupervisor supervisor(command.kill_grace, kCancelCheck);
  ItemRunner runner(command, connection, identity, &supervisor, &log);
  ClientOptions channel = connection;
  channel.max_message_bytes = kMaxMessageBytes;
  // Destroyed first: its handlers use the runner and the supervisor.
  Worker worker(
      channel,
      WorkerOptions{.identity = identity,
                    .transport = command.poll
                                     ? WorkerOptions::Transport::kPoll
                                     : WorkerOptions::Transport::kStream,
                    .call_timeout = connection.default_timeout,
                    .on_error = [&log](const absl::Status& problem) {
                      log.Line(problem.message());
                    }});
  absl::Status started =
      worker.Handle(command.queue, command.concurrency,
                    [&runner](WorkContext& work) { return runner.Run(work); });
  if (started.ok()) started = worker.Start();
  if (!started.ok()) return Refused(err, started);
  log.Line(absl::StrCat("taking items from queue ", command.queue, " at ",
                        connection.address,
                        connection.namespace_name.empty()
                            ? std::string()
                            : " in namespace " + connection.namespace_name,
                        ", up to ", command.concurrency, " at once, as ",
                        identity, "; running ", *program));
  ServeUntilStopped(worker, signals, supervisor, log);
  const Worker::Counters counters = worker.counters();
  log.Line(absl::StrCat("stopped: ", counters.completed, " completed, ",
                        counters.failed, " failed, ", counters.lease_lost,
                        " lost their lease"));
  return kExitSuccess;
}

}  // namespace corosched::cli
