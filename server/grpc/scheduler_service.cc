#include "server/grpc/scheduler_service.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/machine/proto_time.h"
#include "core/quote.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/parsed_request.h"
#include "server/grpc/submit_stream.h"
#include "server/grpc/watch_reactor.h"
#include "server/grpc/work_reactors.h"
#include "server/store/namespace_keys.h"
#include "server/work/work_token.h"

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

// NOT_FOUND unless `token` names a lease of a task in the call's namespace:
// another namespace's lease is as if it did not exist. Bytes that are no
// token are left to the queues, which refuse them INVALID_ARGUMENT.
absl::Status OwnToken(absl::string_view token, const CallScope& scope) {
  absl::StatusOr<WorkToken> parsed = WorkToken::Decode(token);
  if (!parsed.ok() || KeyInNamespace(parsed->task_id, scope.namespace_name)) {
    return absl::OkStatus();
  }
  return absl::NotFoundError(
      absl::StrCat("token: no lease with this token in namespace ",
                   QuoteInput(scope.namespace_name),
                   "; answer work in the namespace you polled it from (the ",
                   kNamespaceHeader, " header)"));
}

}  // namespace

SchedulerService::SchedulerService(TaskService& tasks, TaskStore& store,
                                   StreamHub& hub, Authorizer& authorizer)
    : tasks_(tasks), store_(store), hub_(hub), authorizer_(authorizer) {
  HandleUnary("RegisterDefinition", &SchedulerService::ServeRegisterDefinition);
  HandleUnary("GetDefinition", &SchedulerService::ServeGetDefinition);
  HandleUnary("ListDefinitions", &SchedulerService::ServeListDefinitions);
  HandleUnary("SubmitTask", &SchedulerService::ServeSubmitTask);
  HandleSubmitTasks();
  HandleUnary("WakeTask", &SchedulerService::ServeWakeTask);
  HandleUnary("GetTask", &SchedulerService::ServeGetTask);
  HandleUnary("ListTasks", &SchedulerService::ServeListTasks);
  HandleWatchTask();
  HandleUnary("CancelTask", &SchedulerService::ServeCancelTask);
  HandleUnary("GetQueueStats", &SchedulerService::ServeGetQueueStats);
  // A long poll holds its call open like a stream.
  HandleUnary("PollWork", &SchedulerService::ServePollWork, CallKind::kStream);
  HandleWorkStream();
  HandleUnary("CompleteWork", &SchedulerService::ServeCompleteWork);
  HandleUnary("FailWork", &SchedulerService::ServeFailWork);
  HandleUnary("HeartbeatWork", &SchedulerService::ServeHeartbeatWork);
}

template <typename Request, typename Response>
void SchedulerService::HandleUnary(absl::string_view name,
                                   UnaryMethod<Request, Response> serve,
                                   CallKind kind) {
  MarkMethodCallback(
      MethodIndex(name),
      new grpc::internal::CallbackUnaryHandler<ParsedRequest<Request>,
                                               Response>(
          [this, serve, role = RoleFor(name), kind](
              grpc::CallbackServerContext* context,
              const ParsedRequest<Request>* request,
              Response* response) -> grpc::ServerUnaryReactor* {
            absl::StatusOr<CallScope> scope =
                authorizer_.Authorize(*context, role, kind);
            absl::Status refused =
                scope.ok() ? request->status : scope.status();
            if (refused.ok()) {
              return (this->*serve)(context, *scope, &request->message,
                                    response);
            }
            grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
            reactor->Finish(ToGrpcStatus(refused));
            return reactor;
          }));
}

void SchedulerService::PollWatchesOnSharedStore(DelayedCalls& timer) {
  watch_polling_ = std::make_unique<WatchPolling>();
  watch_polling_->timer = &timer;
  watch_polling_->runs_here = [runner =
                                   &tasks_.runner()](const std::string& id) {
    return runner->IsLive(id);
  };
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
            absl::StatusOr<CallScope> scope = authorizer_.Authorize(
                *context, RoleFor("WatchTask"), CallKind::kStream);
            if (!scope.ok()) return new Refusal<Reactor>(scope.status());
            if (!request->status.ok()) {
              return new Refusal<Reactor>(request->status);
            }
            return WatchReactor::Start(store_, hub_, *std::move(scope),
                                       request->message, watch_polling_.get());
          }));
}

void SchedulerService::HandleSubmitTasks() {
  MarkMethodCallback(
      MethodIndex("SubmitTasks"),
      new grpc::internal::CallbackBidiHandler<
          ParsedRequest<v1::SubmitTaskRequest>, v1::SubmitTasksResponse>(
          [this](grpc::CallbackServerContext* context)
              -> grpc::ServerBidiReactor<ParsedRequest<v1::SubmitTaskRequest>,
                                         v1::SubmitTasksResponse>* {
            absl::StatusOr<CallScope> scope = authorizer_.Authorize(
                *context, RoleFor("SubmitTasks"), CallKind::kStream);
            if (!scope.ok()) {
              return new Refusal<
                  grpc::ServerBidiReactor<ParsedRequest<v1::SubmitTaskRequest>,
                                          v1::SubmitTasksResponse>>(
                  scope.status());
            }
            return SubmitStream::Start(tasks_, hub_, *std::move(scope));
          }));
}

void SchedulerService::HandleWorkStream() {
  MarkMethodCallback(
      MethodIndex("WorkStream"),
      new grpc::internal::CallbackBidiHandler<
          ParsedRequest<v1::WorkStreamRequest>, v1::WorkStreamResponse>(
          [this](grpc::CallbackServerContext* context)
              -> grpc::ServerBidiReactor<ParsedRequest<v1::WorkStreamRequest>,
                                         v1::WorkStreamResponse>* {
            absl::StatusOr<CallScope> scope = authorizer_.Authorize(
                *context, RoleFor("WorkStream"), CallKind::kStream);
            if (!scope.ok()) {
              return new Refusal<
                  grpc::ServerBidiReactor<ParsedRequest<v1::WorkStreamRequest>,
                                          v1::WorkStreamResponse>>(
                  scope.status());
            }
            return WorkStreamReactor::Start(tasks_.runner(), *std::move(scope));
          }));
}

grpc::ServerUnaryReactor* SchedulerService::ServeRegisterDefinition(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::RegisterDefinitionRequest* request,
    v1::RegisterDefinitionResponse* response) {
  return AnswerLater(context, response, [&](auto done) {
    tasks_.RegisterDefinition(scope.namespace_name, *request, std::move(done));
  });
}

grpc::ServerUnaryReactor* SchedulerService::ServeGetDefinition(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::GetDefinitionRequest* request,
    v1::GetDefinitionResponse* response) {
  return Answer(context, tasks_.GetDefinition(scope.namespace_name, *request),
                response);
}

grpc::ServerUnaryReactor* SchedulerService::ServeListDefinitions(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::ListDefinitionsRequest* request,
    v1::ListDefinitionsResponse* response) {
  return Answer(context, tasks_.ListDefinitions(scope.namespace_name, *request),
                response);
}

grpc::ServerUnaryReactor* SchedulerService::ServeSubmitTask(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::SubmitTaskRequest* request, v1::SubmitTaskResponse* response) {
  return AnswerLater(context, response, [&](auto done) {
    tasks_.SubmitTask(scope.namespace_name, *request, std::move(done));
  });
}

grpc::ServerUnaryReactor* SchedulerService::ServeWakeTask(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::WakeTaskRequest* request, v1::WakeTaskResponse* response) {
  return AnswerLater(context, response, [&](auto done) {
    tasks_.WakeTask(scope.namespace_name, *request, std::move(done));
  });
}

grpc::ServerUnaryReactor* SchedulerService::ServeGetTask(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::GetTaskRequest* request, v1::Task* response) {
  return Answer(context, tasks_.GetTask(scope.namespace_name, *request),
                response);
}

grpc::ServerUnaryReactor* SchedulerService::ServeListTasks(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::ListTasksRequest* request, v1::ListTasksResponse* response) {
  return Answer(context, tasks_.ListTasks(scope.namespace_name, *request),
                response);
}

grpc::ServerUnaryReactor* SchedulerService::ServeCancelTask(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::CancelTaskRequest* request, v1::Task* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The reactor and `response` stay valid until Finish (gRPC calls OnDone
  // only after it), whichever thread records the cancel.
  tasks_.CancelTask(scope.namespace_name, *request,
                    [reactor, response](absl::StatusOr<v1::Task> task) {
                      grpc::Status status = ToGrpcStatus(task.status());
                      if (task.ok()) *response = *std::move(task);
                      reactor->Finish(std::move(status));
                    });
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::ServeGetQueueStats(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::GetQueueStatsRequest* /*request*/, v1::QueueStats* response) {
  return Answer(context, tasks_.GetQueueStats(scope.namespace_name), response);
}

grpc::ServerUnaryReactor* SchedulerService::ServePollWork(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::PollWorkRequest* request, v1::PollWorkResponse* response) {
  return PollWorkReactor::Start(context, tasks_.runner(), scope, *request,
                                response);
}

grpc::ServerUnaryReactor* SchedulerService::ServeCompleteWork(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::CompleteWorkRequest* request,
    v1::CompleteWorkResponse* response) {
  if (absl::Status mine = OwnToken(request->token(), scope); !mine.ok()) {
    return Answer(context, absl::StatusOr<v1::CompleteWorkResponse>(mine),
                  response);
  }
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

grpc::ServerUnaryReactor* SchedulerService::ServeFailWork(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::FailWorkRequest* request, v1::FailWorkResponse* response) {
  if (absl::Status mine = OwnToken(request->token(), scope); !mine.ok()) {
    return Answer(context, absl::StatusOr<v1::FailWorkResponse>(mine),
                  response);
  }
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

grpc::ServerUnaryReactor* SchedulerService::ServeHeartbeatWork(
    grpc::CallbackServerContext* context, const CallScope& scope,
    const v1::HeartbeatWorkRequest* request,
    v1::HeartbeatWorkResponse* response) {
  if (absl::Status mine = OwnToken(request->token(), scope); !mine.ok()) {
    return Answer(context, absl::StatusOr<v1::HeartbeatWorkResponse>(mine),
                  response);
  }
  absl::StatusOr<WorkQueues::HeartbeatAnswer> beat =
      tasks_.runner().work_queues().Heartbeat(request->token(),
                                              request->details());
  if (!beat.ok()) {
    // The lease may be another daemon's now (TaskRunner::AnswerRefusedToken).
    return AnswerLater(context, response, [&](auto done) {
      tasks_.runner().AnswerRefusedToken(
          request->token(), beat.status(),
          [done = std::move(done)](absl::Status status) mutable {
            // Never OK: it answers a refusal.
            std::move(done)(std::move(status));
          });
    });
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
