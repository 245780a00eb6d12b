#include "client/client.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/health_check.h"
#include "client/status.h"

#ifndef COROSCHED_VERSION
#error "COROSCHED_VERSION must be defined by the build (client/CMakeLists.txt)"
#endif

namespace corosched {
namespace {

// The time left until `end`, for the second half of a two-part call; zero
// timeouts and infinite ends pass through unchanged.
CallOptions Remaining(const CallOptions& call, absl::Time end) {
  if (end == absl::InfiniteFuture()) return call;
  return CallOptions{.timeout =
                         std::max(end - absl::Now(), absl::Nanoseconds(1))};
}

absl::Time EndOf(const CallOptions& call) {
  if (call.timeout == absl::ZeroDuration() ||
      call.timeout == absl::InfiniteDuration()) {
    return absl::InfiniteFuture();
  }
  return absl::Now() + call.timeout;
}

}  // namespace

absl::string_view ClientVersion() { return COROSCHED_VERSION; }

absl::string_view ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kServing:
      return "SERVING";
    case ServingStatus::kNotServing:
      return "NOT_SERVING";
    case ServingStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    case ServingStatus::kUnknown:
      break;
  }
  return "UNKNOWN";
}

Client::Client(const ClientOptions& options)
    : default_timeout_(options.default_timeout) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = NewChannel(options);
  absl::StatusOr<CallHeaders> headers = CallHeaders::FromOptions(options);
  setup_ = !channel.ok() ? channel.status() : headers.status();
  if (!setup_.ok()) return;
  channel_ = *std::move(channel);
  stub_ = v1::Scheduler::NewStub(channel_);
  headers_ = *std::move(headers);
}

Client::Client(std::shared_ptr<grpc::ChannelInterface> channel,
               const ClientOptions& options)
    : default_timeout_(options.default_timeout) {
  absl::StatusOr<CallHeaders> headers = CallHeaders::FromOptions(options);
  setup_ = headers.status();
  if (!setup_.ok()) return;
  channel_ = std::move(channel);
  stub_ = v1::Scheduler::NewStub(channel_);
  headers_ = *std::move(headers);
}

void Client::Prepare(grpc::ClientContext* context, const CallOptions& call,
                     bool streaming) const {
  headers_.AddTo(context);
  absl::Duration timeout = call.timeout;
  if (timeout == absl::ZeroDuration()) {
    timeout = streaming ? absl::InfiniteDuration() : default_timeout_;
  }
  if (timeout == absl::InfiniteDuration()) return;
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

template <typename Response, typename Request>
absl::StatusOr<Response> Client::CallUnary(
    UnaryMethod<Request, Response> method, const Request& request,
    const CallOptions& call) const {
  if (!setup_.ok()) return setup_;
  grpc::ClientContext context;
  Prepare(&context, call, /*streaming=*/false);
  Response response;
  grpc::Status status = (stub_.get()->*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::RegisterDefinitionResponse> Client::RegisterDefinition(
    const v1::TaskDefinition& definition, const CallOptions& call) {
  v1::RegisterDefinitionRequest request;
  *request.mutable_definition() = definition;
  return CallUnary(&v1::Scheduler::StubInterface::RegisterDefinition, request,
                   call);
}

absl::StatusOr<v1::GetDefinitionResponse> Client::GetDefinition(
    absl::string_view name, absl::string_view version,
    const CallOptions& call) {
  v1::GetDefinitionRequest request;
  request.set_name(std::string(name));
  request.set_version(std::string(version));
  return CallUnary(&v1::Scheduler::StubInterface::GetDefinition, request, call);
}

absl::StatusOr<v1::ListDefinitionsResponse> Client::ListDefinitions(
    const v1::ListDefinitionsRequest& request, const CallOptions& call) {
  return CallUnary(&v1::Scheduler::StubInterface::ListDefinitions, request,
                   call);
}

absl::StatusOr<v1::SubmitTaskResponse> Client::SubmitTask(
    const v1::SubmitTaskRequest& request, const CallOptions& call) {
  return CallUnary(&v1::Scheduler::StubInterface::SubmitTask, request, call);
}

absl::StatusOr<v1::WakeTaskResponse> Client::WakeTask(
    const v1::WakeTaskRequest& request, const CallOptions& call) {
  return CallUnary(&v1::Scheduler::StubInterface::WakeTask, request, call);
}

absl::StatusOr<v1::Task> Client::GetTask(absl::string_view task_id,
                                         const CallOptions& call) {
  v1::GetTaskRequest request;
  request.set_task_id(std::string(task_id));
  return CallUnary(&v1::Scheduler::StubInterface::GetTask, request, call);
}

absl::StatusOr<v1::ListTasksResponse> Client::ListTasks(
    const v1::ListTasksRequest& request, const CallOptions& call) {
  return CallUnary(&v1::Scheduler::StubInterface::ListTasks, request, call);
}

absl::StatusOr<v1::Task> Client::CancelTask(absl::string_view task_id,
                                            absl::string_view reason,
                                            const CallOptions& call) {
  v1::CancelTaskRequest request;
  request.set_task_id(std::string(task_id));
  request.set_reason(std::string(reason));
  return CallUnary(&v1::Scheduler::StubInterface::CancelTask, request, call);
}

absl::StatusOr<v1::QueueStats> Client::GetQueueStats(const CallOptions& call) {
  v1::GetQueueStatsRequest request;
  return CallUnary(&v1::Scheduler::StubInterface::GetQueueStats, request, call);
}

absl::StatusOr<ServingStatus> Client::Health(absl::string_view service,
                                             const CallOptions& call) {
  if (!setup_.ok()) return setup_;
  grpc::ClientContext context;
  Prepare(&context, call, /*streaming=*/false);
  absl::StatusOr<int> status =
      internal::CallHealthCheck(channel_, &context, service);
  if (!status.ok()) return status.status();
  switch (*status) {
    case 1:
      return ServingStatus::kServing;
    case 2:
      return ServingStatus::kNotServing;
    case 3:
      return ServingStatus::kServiceUnknown;
    default:
      return ServingStatus::kUnknown;
  }
}

std::unique_ptr<TaskWatch> Client::StartWatch(
    const v1::WatchTaskRequest& request, const CallOptions& call) {
  std::unique_ptr<TaskWatch> watch(new TaskWatch());
  if (!setup_.ok()) {
    watch->setup_error_ = setup_;  // no stream: Next is false at once
    return watch;
  }
  Prepare(&watch->context_, call, /*streaming=*/true);
  watch->reader_ = stub_->WatchTask(&watch->context_, request);
  return watch;
}

absl::Status Client::WatchTask(
    const v1::WatchTaskRequest& request,
    absl::FunctionRef<bool(const v1::TaskEvent&)> on_event,
    const CallOptions& call) {
  std::unique_ptr<TaskWatch> watch = StartWatch(request, call);
  v1::TaskEvent event;
  bool finished = false;
  while (watch->Next(&event)) {
    finished = event.has_finished();
    if (!on_event(event)) {
      watch->Cancel();
      while (watch->Next(&event)) {
      }
      (void)watch->Finish();
      return absl::OkStatus();
    }
  }
  absl::Status status = watch->Finish();
  if (!status.ok() || finished) return status;
  return absl::UnavailableError(
      absl::StrCat("the watch of task ", request.task_id(),
                   " ended before the task finished; watch again with "
                   "after_sequence to resume"));
}

absl::StatusOr<TaskOutcome> Client::WaitForTask(
    absl::string_view task_id, const CallOptions& call,
    const TaskEventCallback& on_event) {
  const absl::Time end = EndOf(call);
  v1::WatchTaskRequest request;
  request.set_task_id(std::string(task_id));
  TaskOutcome outcome;
  absl::Status watched = WatchTask(
      request,
      [&](const v1::TaskEvent& event) {
        if (event.has_output()) outcome.output += event.output().text();
        if (on_event) on_event(event);
        return true;
      },
      call);
  if (!watched.ok()) return watched;
  absl::StatusOr<v1::Task> task = GetTask(task_id, Remaining(call, end));
  if (!task.ok()) return task.status();
  outcome.task = *std::move(task);
  return outcome;
}

absl::StatusOr<TaskOutcome> Client::SubmitAndWait(
    const v1::SubmitTaskRequest& request, const CallOptions& call,
    const TaskEventCallback& on_event) {
  const absl::Time end = EndOf(call);
  absl::StatusOr<v1::SubmitTaskResponse> submitted = SubmitTask(request, call);
  if (!submitted.ok()) return submitted.status();
  return WaitForTask(submitted->task().id(), Remaining(call, end), on_event);
}

namespace {

using SubmitStream = grpc::ClientReaderWriterInterface<v1::SubmitTaskRequest,
                                                       v1::SubmitTasksResponse>;

// Reads SubmitTasks answers into `results` until the stream ends; INTERNAL
// (and the call cancelled) when an answer comes out of order.
absl::Status ReadSubmitAnswers(
    SubmitStream* stream, grpc::ClientContext* context,
    std::vector<absl::StatusOr<v1::SubmitTaskResponse>>* results) {
  v1::SubmitTasksResponse response;
  while (stream->Read(&response)) {
    if (response.index() != results->size()) {
      absl::Status error = absl::InternalError(
          absl::StrCat("SubmitTasks answered item ", response.index(),
                       " where item ", results->size(), " was due"));
      context->TryCancel();
      while (stream->Read(&response)) {
      }
      return error;
    }
    if (response.code() == 0) {
      results->emplace_back(std::move(*response.mutable_response()));
    } else {
      results->emplace_back(
          FromStatusCode(response.code(), response.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<absl::StatusOr<v1::SubmitTaskResponse>>>
Client::SubmitTasks(absl::Span<const v1::SubmitTaskRequest> requests,
                    const CallOptions& call) {
  if (!setup_.ok()) return setup_;
  grpc::ClientContext context;
  Prepare(&context, call, /*streaming=*/true);
  std::unique_ptr<SubmitStream> stream = stub_->SubmitTasks(&context);
  // Writing and reading at once keeps both directions' flow-control windows
  // moving; writing everything first could deadlock on a long batch.
  std::thread writer([&stream, requests] {
    for (const v1::SubmitTaskRequest& request : requests) {
      if (!stream->Write(request)) return;  // the stream broke; Finish says why
    }
    stream->WritesDone();
  });
  std::vector<absl::StatusOr<v1::SubmitTaskResponse>> results;
  results.reserve(requests.size());
  absl::Status order = ReadSubmitAnswers(stream.get(), &context, &results);
  writer.join();
  absl::Status status = FromGrpcStatus(stream->Finish());
  if (!order.ok()) return order;
  if (!status.ok()) return status;
  if (results.size() != requests.size()) {
    return absl::InternalError(absl::StrCat("SubmitTasks ended after ",
                                            results.size(), " of ",
                                            requests.size(), " answers"));
  }
  return results;
}

}  // namespace corosched
