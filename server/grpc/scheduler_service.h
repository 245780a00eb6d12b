#pragma once

#include "absl/strings/string_view.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "server/store/task_store.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_service.h"

namespace corosched::server {

// corosched.v1.Scheduler on gRPC's callback API. Unary handlers run
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
// then calls the method below. The generated SetMessageAllocatorFor_*
// would no longer match those handlers and must not be called.
//
// Thread-safety: gRPC calls the handlers from its own threads, concurrently.
class SchedulerService final : public v1::Scheduler::CallbackService {
 public:
  SchedulerService(TaskService& tasks, TaskStore& store, StreamHub& hub);

  grpc::ServerUnaryReactor* RegisterDefinition(
      grpc::CallbackServerContext* context,
      const v1::RegisterDefinitionRequest* request,
      v1::RegisterDefinitionResponse* response) override;
  grpc::ServerUnaryReactor* GetDefinition(
      grpc::CallbackServerContext* context,
      const v1::GetDefinitionRequest* request,
      v1::GetDefinitionResponse* response) override;
  grpc::ServerUnaryReactor* ListDefinitions(
      grpc::CallbackServerContext* context,
      const v1::ListDefinitionsRequest* request,
      v1::ListDefinitionsResponse* response) override;
  grpc::ServerUnaryReactor* SubmitTask(
      grpc::CallbackServerContext* context,
      const v1::SubmitTaskRequest* request,
      v1::SubmitTaskResponse* response) override;
  // SubmitTasks is served by SubmitStream, which reads ParsedRequests.
  grpc::ServerUnaryReactor* WakeTask(grpc::CallbackServerContext* context,
                                     const v1::WakeTaskRequest* request,
                                     v1::WakeTaskResponse* response) override;
  grpc::ServerUnaryReactor* GetTask(grpc::CallbackServerContext* context,
                                    const v1::GetTaskRequest* request,
                                    v1::Task* response) override;
  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* context,
                                      const v1::ListTasksRequest* request,
                                      v1::ListTasksResponse* response) override;
  grpc::ServerWriteReactor<v1::TaskEvent>* WatchTask(
      grpc::CallbackServerContext* context,
      const v1::WatchTaskRequest* request) override;
  grpc::ServerUnaryReactor* CancelTask(grpc::CallbackServerContext* context,
                                       const v1::CancelTaskRequest* request,
                                       v1::Task* response) override;
  grpc::ServerUnaryReactor* GetQueueStats(
      grpc::CallbackServerContext* context,
      const v1::GetQueueStatsRequest* request,
      v1::QueueStats* response) override;
  grpc::ServerUnaryReactor* PollWork(grpc::CallbackServerContext* context,
                                     const v1::PollWorkRequest* request,
                                     v1::PollWorkResponse* response) override;
  // WorkStream is served by WorkStreamReactor, which reads ParsedRequests.
  grpc::ServerUnaryReactor* CompleteWork(
      grpc::CallbackServerContext* context,
      const v1::CompleteWorkRequest* request,
      v1::CompleteWorkResponse* response) override;
  grpc::ServerUnaryReactor* FailWork(grpc::CallbackServerContext* context,
                                     const v1::FailWorkRequest* request,
                                     v1::FailWorkResponse* response) override;
  grpc::ServerUnaryReactor* HeartbeatWork(
      grpc::CallbackServerContext* context,
      const v1::HeartbeatWorkRequest* request,
      v1::HeartbeatWorkResponse* response) override;

 private:
  template <typename Request, typename Response>
  using UnaryMethod = grpc::ServerUnaryReactor* (
      SchedulerService::*)(grpc::CallbackServerContext*, const Request*,
                           Response*);

  // Registers `serve` as method `name`'s handler, behind the parse check.
  template <typename Request, typename Response>
  void HandleUnary(absl::string_view name,
                   UnaryMethod<Request, Response> serve);
  void HandleWatchTask();
  void HandleSubmitTasks();
  void HandleWorkStream();

  TaskService& tasks_;
  TaskStore& store_;
  StreamHub& hub_;
};

}  // namespace corosched::server
