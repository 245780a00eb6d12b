#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/connection.h"
#include "client/task_watch.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "corosched/v1/scheduler.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"

namespace corosched {

// The version of this client library ("0.1.0"), the project's version.
absl::string_view ClientVersion();

// Per-call settings.
struct CallOptions {
  // Zero: ClientOptions::default_timeout for unary calls, and no deadline
  // for the streaming calls (SubmitTasks, WatchTask, waiting for a task).
  // absl::InfiniteDuration(): no deadline.
  absl::Duration timeout = absl::ZeroDuration();
};

// grpc.health.v1 serving status.
enum class ServingStatus { kUnknown, kServing, kNotServing, kServiceUnknown };
absl::string_view ServingStatusName(ServingStatus status);

// A finished task, as SubmitAndWait and WaitForTask return it.
struct TaskOutcome {
  // The task as the daemon reports it after its last event.
  v1::Task task;
  // Every output chunk's text, in order.
  std::string output;
};

// Called with each event while a task is awaited; runs on the waiting
// thread.
using TaskEventCallback = std::function<void(const v1::TaskEvent&)>;

// A client of the Corosched daemon (the corosched.v1.Scheduler service).
//
//   corosched::Client client({.address = "127.0.0.1:50051"});
//   absl::StatusOr<corosched::v1::TaskDefinition> hello =
//       corosched::LoadTaskDefinitionFile("examples/hello.json");
//   corosched::v1::SubmitTaskRequest request;
//   *request.mutable_definition() = *hello;
//   absl::StatusOr<corosched::TaskOutcome> done =
//       client.SubmitAndWait(request);
//   // done->output == "Hello, World!\n"
//
// Every call returns the daemon's canonical status (see scheduler.proto for
// the codes each RPC uses); connection failures are UNAVAILABLE, a missed
// deadline DEADLINE_EXCEEDED. Constructing a Client does not connect: the
// channel connects on the first call and reconnects as needed. Options the
// client cannot use (an unreadable TLS file, an invalid namespace or token;
// see NewChannel and CallHeaders) fail every call with that error, before
// anything is sent; check them up front with Client::Check.
//
// Thread-safety: a Client is safe to use from many threads at once; share
// one per daemon.
class Client {
 public:
  explicit Client(const ClientOptions& options);
  // Over an existing channel (options.address, tls, credentials and
  // max_message_bytes are then unused; token and namespace_name are sent).
  Client(std::shared_ptr<grpc::ChannelInterface> channel,
         const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // OK, or why the options cannot be used (then every call fails so).
  const absl::Status& Check() const { return setup_; }

  absl::StatusOr<v1::RegisterDefinitionResponse> RegisterDefinition(
      const v1::TaskDefinition& definition, const CallOptions& call = {});
  // Empty version: the most recently registered one.
  absl::StatusOr<v1::GetDefinitionResponse> GetDefinition(
      absl::string_view name, absl::string_view version = "",
      const CallOptions& call = {});
  absl::StatusOr<v1::ListDefinitionsResponse> ListDefinitions(
      const v1::ListDefinitionsRequest& request, const CallOptions& call = {});

  absl::StatusOr<v1::SubmitTaskResponse> SubmitTask(
      const v1::SubmitTaskRequest& request, const CallOptions& call = {});
  // Submits every request on one SubmitTasks stream. The outer status is
  // the stream's (e.g. UNAVAILABLE); on OK, element i is request i's own
  // result, in order.
  absl::StatusOr<std::vector<absl::StatusOr<v1::SubmitTaskResponse>>>
  SubmitTasks(absl::Span<const v1::SubmitTaskRequest> requests,
              const CallOptions& call = {});

  absl::StatusOr<v1::WakeTaskResponse> WakeTask(
      const v1::WakeTaskRequest& request, const CallOptions& call = {});

  absl::StatusOr<v1::Task> GetTask(absl::string_view task_id,
                                   const CallOptions& call = {});
  absl::StatusOr<v1::ListTasksResponse> ListTasks(
      const v1::ListTasksRequest& request, const CallOptions& call = {});
  // Opens a WatchTask stream; read it with TaskWatch::Next.
  std::unique_ptr<TaskWatch> StartWatch(const v1::WatchTaskRequest& request,
                                        const CallOptions& call = {});
  // Calls `on_event` for each event until the task's finished event (then
  // OK), until `on_event` returns false (then OK, the stream is cancelled),
  // or until the stream fails (its status). A stream that ends without a
  // finished event is UNAVAILABLE: resume with after_sequence.
  absl::Status WatchTask(const v1::WatchTaskRequest& request,
                         absl::FunctionRef<bool(const v1::TaskEvent&)> on_event,
                         const CallOptions& call = {});
  absl::StatusOr<v1::Task> CancelTask(absl::string_view task_id,
                                      absl::string_view reason = "",
                                      const CallOptions& call = {});

  absl::StatusOr<v1::QueueStats> GetQueueStats(const CallOptions& call = {});

  // grpc.health.v1.Health/Check; "" is the daemon as a whole.
  absl::StatusOr<ServingStatus> Health(absl::string_view service = "",
                                       const CallOptions& call = {});

  // Watches the task from its first event until it finishes, then returns
  // it with its whole output. `on_event` (optional) sees each event as it
  // arrives, e.g. to print output live. The task's own failure is not an
  // error here: look at outcome.task.status().
  absl::StatusOr<TaskOutcome> WaitForTask(
      absl::string_view task_id, const CallOptions& call = {},
      const TaskEventCallback& on_event = {});
  // SubmitTask, then WaitForTask. `call.timeout` bounds the submit and the
  // wait together.
  absl::StatusOr<TaskOutcome> SubmitAndWait(
      const v1::SubmitTaskRequest& request, const CallOptions& call = {},
      const TaskEventCallback& on_event = {});

 private:
  template <typename Request, typename Response>
  using UnaryMethod = grpc::Status (v1::Scheduler::StubInterface::*)(
      grpc::ClientContext*, const Request&, Response*);
  // One unary call through `method` of the stub.
  template <typename Response, typename Request>
  absl::StatusOr<Response> CallUnary(UnaryMethod<Request, Response> method,
                                     const Request& request,
                                     const CallOptions& call) const;

  // Adds the headers and sets the deadline `call` asks for to a new call's
  // context; `streaming` picks the default deadline.
  void Prepare(grpc::ClientContext* context, const CallOptions& call,
               bool streaming) const;

  absl::Status setup_;  // OK, or why the options cannot be used
  std::shared_ptr<grpc::ChannelInterface> channel_;  // null when !setup_.ok()
  std::unique_ptr<v1::Scheduler::StubInterface> stub_;
  CallHeaders headers_;
  absl::Duration default_timeout_;
};

}  // namespace corosched
