#include "server/scheduler_service.h"

#include <utility>

#include "server/grpc_status.h"
#include "server/submit_stream.h"
#include "server/watch_reactor.h"

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

}  // namespace

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

grpc::ServerBidiReactor<v1::SubmitTaskRequest, v1::SubmitTasksResponse>*
SchedulerService::SubmitTasks(grpc::CallbackServerContext* /*context*/) {
  return SubmitStream::Start(tasks_, hub_);
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

}  // namespace corosched::server
