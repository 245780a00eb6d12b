#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "core/executor.h"
#include "corosched/v1/scheduler.pb.h"
#include "server/program_cache.h"
#include "server/store/task_store.h"
#include "server/task_runner.h"

namespace corosched::server {

// The Scheduler API's behaviour, without gRPC: each method validates its
// request, hands work to the store or the TaskRunner, and answers. The gRPC
// adapter (SchedulerService) only converts statuses; the streaming RPCs are
// built from SubmitTask and the store.
//
// Every error is a canonical status whose message names the field at fault
// and what to do; the codes each RPC uses are listed in scheduler.proto.
//
// Thread-safety: every method from any thread; none blocks beyond short
// mutexes and store calls.
class TaskService {
 public:
  TaskService(Executor& executor, TaskStore& store, TaskRunner& runner);
  TaskService(const TaskService&) = delete;
  TaskService& operator=(const TaskService&) = delete;

  absl::StatusOr<v1::RegisterDefinitionResponse> RegisterDefinition(
      const v1::RegisterDefinitionRequest& request);
  absl::StatusOr<v1::GetDefinitionResponse> GetDefinition(
      const v1::GetDefinitionRequest& request);
  absl::StatusOr<v1::ListDefinitionsResponse> ListDefinitions(
      const v1::ListDefinitionsRequest& request);

  // UNAVAILABLE once BeginDrain was called.
  absl::StatusOr<v1::SubmitTaskResponse> SubmitTask(
      const v1::SubmitTaskRequest& request);
  absl::StatusOr<v1::WakeTaskResponse> WakeTask(
      const v1::WakeTaskRequest& request);
  absl::StatusOr<v1::Task> GetTask(const v1::GetTaskRequest& request);
  absl::StatusOr<v1::ListTasksResponse> ListTasks(
      const v1::ListTasksRequest& request);
  // Calls `done` once the cancel is recorded (possibly on another thread,
  // possibly before CancelTask returns).
  void CancelTask(const v1::CancelTaskRequest& request,
                  absl::AnyInvocable<void(absl::StatusOr<v1::Task>) &&> done);
  absl::StatusOr<v1::QueueStats> GetQueueStats();

  // From now on submissions are refused with UNAVAILABLE; everything else
  // keeps working so running tasks can be woken, watched and cancelled.
  void BeginDrain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

 private:
  // The compiled program and the definition a submit names.
  absl::StatusOr<std::shared_ptr<const machine::Program>> ResolveProgram(
      const v1::SubmitTaskRequest& request);
  // A fresh daemon-chosen task id.
  std::string NewTaskId();

  Executor& executor_;
  TaskStore& store_;
  TaskRunner& runner_;
  ProgramCache programs_;
  std::atomic<bool> draining_{false};
  // Daemon-chosen ids: a random per-process prefix and a counter.
  const uint64_t id_salt_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace corosched::server
