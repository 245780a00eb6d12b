#pragma once

#include <memory>

#include "absl/strings/string_view.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "server/auth/authorizer.h"
#include "server/grpc/watch_reactor.h"
#include "server/store/task_store.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_service.h"

namespace corosched::server {

// corosched.v1.Scheduler on gRPC's callback API. Every call is first
// authorized (server/auth/authorizer.h: the role RoleFor its method names)
// and a refusal finishes it with the authorizer's status; a granted call
// acts only in its scope's namespace. WatchTask, SubmitTasks, WorkStream
// and the long poll PollWork are streams (CallKind::kStream): their
// reactors hold the CallScope until they end. Unary handlers run
// TaskService and finish at once (CancelTask finishes when the cancel is
// recorded, from whichever thread records it); WatchTask and SubmitTasks
// get reactors (WatchReactor, SubmitStream), and so do PollWork and
// WorkStream (work_reactors.h). No handler blocks.
//
// Request bytes that are not a valid message of the method's request type
// are answered INVALID_ARGUMENT naming the type (on SubmitTasks, as that
// item's answer), never gRPC's UNIMPLEMENTED: the constructor replaces the
// generated handler of every method with one whose request type is
// ParsedRequest<M> (parsed_request.h says why), which checks the parse and
// then calls the method below (the generated virtual methods stay
// unimplemented and are never reached). The generated SetMessageAllocatorFor_*
// would no longer match those handlers and must not be called.
//
// Thread-safety: gRPC calls the handlers from its own threads, concurrently.
class SchedulerService final : public v1::Scheduler::CallbackService {
 public:
  // `authorizer` must outlive the service.
  SchedulerService(TaskService& tasks, TaskStore& store, StreamHub& hub,
                   Authorizer& authorizer);

  // Watches of tasks other daemons run read the store on `timer` (see
  // WatchPolling); for a daemon on a shared store. `timer` must outlive the
  // service. Call before serving.
  void PollWatchesOnSharedStore(DelayedCalls& timer);

 private:
  // A method served in the namespace of a granted call. The methods are
  // Serve<Method>: the generated virtual <Method>s stay unimplemented.
  template <typename Request, typename Response>
  using UnaryMethod = grpc::ServerUnaryReactor* (
      SchedulerService::*)(grpc::CallbackServerContext*, const CallScope&,
                           const Request*, Response*);

  // Registers `serve` as method `name`'s handler, behind the parse check
  // and the authorizer (RoleFor(name); `kind` is kStream for a long poll).
  template <typename Request, typename Response>
  void HandleUnary(absl::string_view name, UnaryMethod<Request, Response> serve,
                   CallKind kind = CallKind::kUnary);
  void HandleWatchTask();
  void HandleSubmitTasks();
  void HandleWorkStream();

  grpc::ServerUnaryReactor* ServeRegisterDefinition(
      grpc::CallbackServerContext* context, const CallScope& scope,
      const v1::RegisterDefinitionRequest* request,
      v1::RegisterDefinitionResponse* response);
  grpc::ServerUnaryReactor* ServeGetDefinition(
      grpc::CallbackServerContext* context, const CallScope& scope,
      const v1::GetDefinitionRequest* request,
      v1::GetDefinitionResponse* response);
  grpc::ServerUnaryReactor* ServeListDefinitions(
      grpc::CallbackServerContext* context, const CallScope& scope,
      const v1::ListDefinitionsRequest* request,
      v1::ListDefinitionsResponse* response);
  grpc::ServerUnaryReactor* ServeSubmitTask(
      grpc::CallbackServerContext* context, const CallScope& scope,
      const v1::SubmitTaskRequest* request, v1::SubmitTaskResponse* response);
  grpc::ServerUnaryReactor* ServeWakeTask(grpc::CallbackServerContext* context,
                                          const CallScope& scope,
                                          const v1::WakeTaskRequest* request,
                                          v1::WakeTaskResponse* response);
  grpc::ServerUnaryReactor* ServeGetTask(grpc::CallbackServerContext* context,
                                         const CallScope& scope,
                                         const v1::GetTaskRequest* request,
                                         v1::Task* response);
  grpc::ServerUnaryReactor* ServeListTasks(grpc::CallbackServerContext* context,
                                           const CallScope& scope,
                                           const v1::ListTasksRequest* request,
                                           v1::ListTasksResponse* response);
  grpc::ServerUnaryReactor* ServeCancelTask(
      grpc::CallbackServerContext* context, const CallScope& scope,
      const v1::CancelTaskRequest* request, v1::Task* response);
  grpc::ServerUnaryReactor* ServeGetQueueStats(
      grpc::CallbackServerContext* context, const CallScope& scope,
      const v1::GetQueueStatsRequest* request, v1::QueueStats* response);
  grpc::ServerUnaryReactor* ServePollWork(grpc::CallbackServerContext* context,
                                          const CallScope& scope,
                                          const v1::PollWorkRequest* request,
                                          v1::PollWorkResponse* response);
  grpc::ServerUnaryReactor* ServeCompleteWork(
      grpc::CallbackServerContext* context, const CallScope& scope,
      const v1::CompleteWorkRequest* request,
      v1::CompleteWorkResponse* response);
  grpc::ServerUnaryReactor* ServeFailWork(grpc::CallbackServerContext* context,
                                          const CallScope& scope,
                                          const v1::FailWorkRequest* request,
                                          v1::FailWorkResponse* response);
  grpc::ServerUnaryReactor* ServeHeartbeatWork(
      grpc::CallbackServerContext* context, const CallScope& scope,
      const v1::HeartbeatWorkRequest* request,
      v1::HeartbeatWorkResponse* response);

  TaskService& tasks_;
  TaskStore& store_;
  StreamHub& hub_;
  Authorizer& authorizer_;
  // Set by PollWatchesOnSharedStore.
  std::unique_ptr<WatchPolling> watch_polling_;
};

}  // namespace corosched::server
