#include "server/grpc/scheduler_service.h"

#include <cstdlib>
#include <utility>

#include "core/machine/proto_time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/parsed_request.h"
#include "server/grpc/submit_stream.h"
#include "server/grpc/watch_reactor.h"
#include "server/grpc/work_reactors.h"

namespace corosched::server {
namespace {

// Finishes a unary call with `result`.
template <typename Response>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 absl::StatusOr<Response> result,
                                 Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status status = ToGrpcStatus(result.status());
  if (result.ok()) *response = *std::move(result);
  reactor->Finish(std::move(status));
  return reactor;
}

// Starts `call` with a callback that finishes the unary call with its
// answer, whenever and on whichever thread it comes.
template <typename Response, typename Call>
grpc::ServerUnaryReactor* AnswerLater(grpc::CallbackServerContext* context,
                                      Response* response, Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  call([reactor, response](absl::StatusOr<Response> result) {
    grpc::Status status = ToGrpcStatus(result.status());
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(std::move(status));
  });
  return reactor;
}

// A stream that only finishes, with `status` (a request that did not parse).
template <typename Reactor>
class Refusal final : public Reactor {
 public:
  explicit Refusal(const absl::Status& status) {
    this->Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

// The index gRPC's generated code gives method `name`: its position in the
// service, as the descriptor has it.
int MethodIndex(absl::string_view name) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::Scheduler::service_full_name());
  const google::protobuf::MethodDescriptor* method =
      service == nullptr ? nullptr
                         : service->FindMethodByName(std::string(name));
  if (method == nullptr) std::abort();  // our own misspelling, caught by tests
  return method->index();
}

}  // namespace

SchedulerService::SchedulerService(TaskService& tasks, TaskStore& store,
                                   StreamHub& hub)
    : tasks_(tasks), store_(store), hub_(hub) {
  HandleUnary("RegisterDefinition", &SchedulerService::RegisterDefinition);
  HandleUnary("GetDefinition", &SchedulerService::GetDefinition);
  HandleUnary("ListDefinitions", &SchedulerService::ListDefinitions);
  HandleUnary("SubmitTask", &SchedulerService::SubmitTask);
  HandleSubmitTasks();
  HandleUnary("WakeTask", &SchedulerService::WakeTask);
  HandleUnary("GetTask", &SchedulerService::GetTask);
  HandleUnary("ListTasks", &SchedulerService::ListTasks);
  HandleWatchTask();
  HandleUnary("CancelTask", &SchedulerService::CancelTask);
  HandleUnary("GetQueueStats", &SchedulerService::GetQueueStats);
  HandleUnary("PollWork", &SchedulerService::PollWork);
  HandleWorkStream();
  HandleUnary("CompleteWork", &SchedulerService::CompleteWork);
  HandleUnary("FailWork", &SchedulerService::FailWork);
  HandleUnary("HeartbeatWork", &SchedulerService::HeartbeatWork);
}

template <typename Request, typename Response>
void SchedulerService::HandleUnary(absl::string_view name,
                                   UnaryMethod<Request, Response> serve) {
  MarkMethodCallback(
      MethodIndex(name),
      new grpc::internal::CallbackUnaryHandler<ParsedRequest<Request>,
                                               Response>(
          [this, serve](grpc::CallbackServerContext* context,
                        const ParsedRequest<Request>* request,
                        Response* response) -> grpc::ServerUnaryReactor* {
            if (request->status.ok()) {
              return (this->*serve)(context, &request->message, response);
            }
            grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
            reactor->Finish(ToGrpcStatus(request->status));
            return reactor;
          }));
}

void SchedulerService::HandleWatchTask() {
  using Request = ParsedRequest<v1::WatchTaskRequest>;
  using Reactor = grpc::ServerWriteReactor<v1::TaskEvent>;
  MarkMethodCallback(
      MethodIndex("WatchTask"),
      new grpc::internal::CallbackServerStreamingHandler<Request,
                                                         v1::TaskEvent>(
          [this](grpc::CallbackServerContext* context,
                 const Request* request) -> Reactor* {
            if (request->status.ok()) {
              return WatchTask(context, &request->message);
            }
            return new Refusal<Reactor>(request->status);
          }));
}

void SchedulerService::HandleSubmitTasks() {
  MarkMethodCallback(
      MethodIndex("SubmitTasks"),
      new grpc::internal::CallbackBidiHandler<
          ParsedRequest<v1::SubmitTaskRequest>, v1::SubmitTasksResponse>(
          [this](grpc::CallbackServerContext* /*context*/) {
            return SubmitStream::Start(tasks_, hub_);
          }));
}

void SchedulerService::HandleWorkStream() {
  MarkMethodCallback(
      MethodIndex("WorkStream"),
      new grpc::internal::CallbackBidiHandler<
          ParsedRequest<v1::WorkStreamRequest>, v1::WorkStreamResponse>(
          [this](grpc::CallbackServerContext* /*context*/) {
            return WorkStreamReactor::Start(tasks_.runner());
          }));
}

grpc::ServerUnaryReactor* SchedulerService::RegisterDefinition(
    grpc::CallbackServerContext* context,
    const v1::RegisterDefinitionRequest* request,
    v1::RegisterDefinitionResponse* response) {
  return AnswerLater(context, response, [&](auto done) {
    tasks_.RegisterDefinition(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* SchedulerService::GetDefinition(
    grpc::CallbackServerContext* context,
    const v1::GetDefinitionRequest* request,
    v1::GetDefinitionResponse* response) {
  return Answer(context, tasks_.GetDefinition(*request), response);
}

grpc::ServerUnaryReactor* SchedulerService::ListDefinitions(
    grpc::CallbackServerContext* context,
    const v1::ListDefinitionsRequest* request,
    v1::ListDefinitionsResponse* response) {
  return Answer(context, tasks_.ListDefinitions(*request), response);
}

grpc::ServerUnaryReactor* SchedulerService::SubmitTask(
    grpc::CallbackServerContext* context, const v1::SubmitTaskRequest* request,
    v1::SubmitTaskResponse* response) {
  return AnswerLater(context, response, [&](auto done) {
    tasks_.SubmitTask(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* SchedulerService::WakeTask(
    grpc::CallbackServerContext* context, const v1::WakeTaskRequest* request,
    v1::WakeTaskResponse* response) {
  return AnswerLater(context, response, [&](auto done) {
    tasks_.WakeTask(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* SchedulerService::GetTask(
    grpc::CallbackServerContext* context, const v1::GetTaskRequest* request,
    v1::Task* response) {
  return Answer(context, tasks_.GetTask(*request), response);
}

grpc::ServerUnaryReactor* SchedulerService::ListTasks(
    grpc::CallbackServerContext* context, const v1::ListTasksRequest* request,
    v1::ListTasksResponse* response) {
  return Answer(context, tasks_.ListTasks(*request), response);
}

grpc::ServerWriteReactor<v1::TaskEvent>* SchedulerService::WatchTask(
    grpc::CallbackServerContext* /*context*/,
    const v1::WatchTaskRequest* request) {
  return WatchReactor::Start(store_, hub_, *request);
}

grpc::ServerUnaryReactor* SchedulerService::CancelTask(
    grpc::CallbackServerContext* context, const v1::CancelTaskRequest* request,
    v1::Task* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The reactor and `response` stay valid until Finish (gRPC calls OnDone
  // only after it), whichever thread records the cancel.
  tasks_.CancelTask(*request,
                    [reactor, response](absl::StatusOr<v1::Task> task) {
                      grpc::Status status = ToGrpcStatus(task.status());
                      if (task.ok()) *response = *std::move(task);
                      reactor->Finish(std::move(status));
                    });
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::GetQueueStats(
    grpc::CallbackServerContext* context,
    const v1::GetQueueStatsRequest* /*request*/, v1::QueueStats* response) {
  return Answer(context, tasks_.GetQueueStats(), response);
}

grpc::ServerUnaryReactor* SchedulerService::PollWork(
    grpc::CallbackServerContext* context, const v1::PollWorkRequest* request,
    v1::PollWorkResponse* response) {
  return PollWorkReactor::Start(context, tasks_.runner(), *request, response);
}

grpc::ServerUnaryReactor* SchedulerService::CompleteWork(
    grpc::CallbackServerContext* context,
    const v1::CompleteWorkRequest* request,
    v1::CompleteWorkResponse* response) {
  return AnswerLater(context, response, [&](auto done) {
    tasks_.runner().CompleteWork(
        request->token(), request->result(),
        [done = std::move(done)](absl::Status status) mutable {
          if (status.ok()) {
            std::move(done)(v1::CompleteWorkResponse());
          } else {
            std::move(done)(std::move(status));
          }
        });
  });
}

grpc::ServerUnaryReactor* SchedulerService::FailWork(
    grpc::CallbackServerContext* context, const v1::FailWorkRequest* request,
    v1::FailWorkResponse* response) {
  return AnswerLater(context, response, [&](auto done) {
    tasks_.runner().FailWork(
        request->token(),
        machine::WorkFailure{request->error(), request->message(),
                             request->retryable()},
        [done = std::move(done)](absl::Status status) mutable {
          if (status.ok()) {
            std::move(done)(v1::FailWorkResponse());
          } else {
            std::move(done)(std::move(status));
          }
        });
  });
}

grpc::ServerUnaryReactor* SchedulerService::HeartbeatWork(
    grpc::CallbackServerContext* context,
    const v1::HeartbeatWorkRequest* request,
    v1::HeartbeatWorkResponse* response) {
  absl::StatusOr<WorkQueues::HeartbeatAnswer> beat =
      tasks_.runner().work_queues().Heartbeat(request->token(),
                                              request->details());
  if (!beat.ok()) {
    // Not StatusOr<>(beat.status()) for both paths: an OK status is no
    // StatusOr argument (Abseil aborts the process on it).
    return Answer(context,
                  absl::StatusOr<v1::HeartbeatWorkResponse>(beat.status()),
                  response);
  }
  v1::HeartbeatWorkResponse answer;
  answer.set_cancel_requested(beat->cancel_requested);
  if (beat->heartbeat_deadline != absl::InfiniteFuture()) {
    *answer.mutable_heartbeat_deadline() =
        machine::ToProtoTimestamp(beat->heartbeat_deadline);
  }
  return Answer(context,
                absl::StatusOr<v1::HeartbeatWorkResponse>(std::move(answer)),
                response);
}

}  // namespace corosched::server
