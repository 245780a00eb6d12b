#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/executor.h"
#include "core/machine/machine.h"
#include "corosched/v1/scheduler.pb.h"
#include "server/metrics/namespace_metrics.h"
#include "server/store/cluster_store.h"
#include "server/store/task_store.h"
#include "server/tasks/delayed_calls.h"
#include "server/tasks/namespace_admission.h"
#include "server/tasks/program_cache.h"
#include "server/tasks/task_runner.h"

namespace corosched::server {

// The Scheduler API's behaviour, without gRPC: each method validates its
// request, hands work to the store or the TaskRunner, and answers. The gRPC
// adapter (SchedulerService) only converts statuses; the streaming RPCs are
// built from SubmitTask and the store.
//
// Every error is a canonical status whose message names the field at fault
// and what to do; the codes each RPC uses are listed in scheduler.proto.
//
// Writes answer through a callback once they are stored (on disk, with a
// durable store), possibly on the store's writer thread and possibly before
// the method returns; reads answer at once. None blocks beyond short
// mutexes and store reads.
//
// Thread-safety: every method from any thread.
// What the daemon's flags set for TaskService.
struct TaskServiceOptions {
  // Tasks run with these limits (the --task-max-* flags).
  machine::MachineLimits limits;
  // The furthest ahead a submit may put a task's start (--max-start-delay);
  // see StartTime.
  absl::Duration max_start_delay = absl::Hours(24 * 30);
  // Each namespace's bound and submit rate (--namespace-*), kept by
  // `admission`, which counts every unfinished task the runner holds
  // (required; it must outlive the executor, whose task futures hold its
  // slots until they are destroyed).
  NamespaceAdmission* admission = nullptr;
  // If not null, hears how each submit fared against its namespace's
  // limits; it must outlive the TaskService.
  NamespaceMetrics* namespace_metrics = nullptr;
};

class TaskService {
 public:
  // REQUIRES: options.admission is set.
  TaskService(Executor& executor, TaskStore& store, TaskRunner& runner,
              const TaskServiceOptions& options);
  TaskService(const TaskService&) = delete;
  TaskService& operator=(const TaskService&) = delete;

  template <typename Response>
  using Reply = absl::AnyInvocable<void(absl::StatusOr<Response>) &&>;

  // The worker RPCs go to the runner's work queues directly.
  TaskRunner& runner() { return runner_; }
  // Unfinished tasks per namespace, for metrics.
  const NamespaceAdmission& admission() const { return admission_; }

  // Every request acts in one namespace, `ns` (validated by the caller,
  // see server/auth/authorizer.h): it sees, names and creates the tasks,
  // definitions and work queues of that namespace only
  // (server/store/namespace_keys.h). Another namespace's task or
  // definition is NOT_FOUND, as if absent.
  void RegisterDefinition(absl::string_view ns,
                          const v1::RegisterDefinitionRequest& request,
                          Reply<v1::RegisterDefinitionResponse> done);
  // A name without a version: the latest version registered in `ns`.
  absl::StatusOr<v1::GetDefinitionResponse> GetDefinition(
      absl::string_view ns, const v1::GetDefinitionRequest& request);
  absl::StatusOr<v1::ListDefinitionsResponse> ListDefinitions(
      absl::string_view ns, const v1::ListDefinitionsRequest& request);

  // UNAVAILABLE once BeginDrain was called. `request` is not used after
  // SubmitTask returns.
  void SubmitTask(absl::string_view ns, const v1::SubmitTaskRequest& request,
                  Reply<v1::SubmitTaskResponse> done);
  void WakeTask(absl::string_view ns, const v1::WakeTaskRequest& request,
                Reply<v1::WakeTaskResponse> done);
  absl::StatusOr<v1::Task> GetTask(absl::string_view ns,
                                   const v1::GetTaskRequest& request);
  absl::StatusOr<v1::ListTasksResponse> ListTasks(
      absl::string_view ns, const v1::ListTasksRequest& request);
  // Calls `done` once the cancel is recorded (possibly on another thread,
  // possibly before CancelTask returns).
  void CancelTask(absl::string_view ns, const v1::CancelTaskRequest& request,
                  absl::AnyInvocable<void(absl::StatusOr<v1::Task>) &&> done);
  // The executor's numbers are the daemon's; tasks, work queues and
  // admission are `ns`'s.
  absl::StatusOr<v1::QueueStats> GetQueueStats(absl::string_view ns);

  // Resumes every unfinished task the store holds (recovery at start-up,
  // before serving). Returns how many it resumed. A task that cannot resume
  // (its definition no longer compiles under this daemon's limits, or its
  // snapshot does not fit it) is recorded FAILED with the reason, and the
  // rest go on: one task never keeps the daemon from starting. Fails only
  // for the daemon's own trouble (the store, the admission bound).
  absl::StatusOr<uint64_t> ResumeUnfinished();
  // ResumeUnfinished over the tasks `for_each` visits instead of the
  // store's unfinished ones (a PostgreSQL daemon resumes what it claimed).
  using TaskSource = absl::FunctionRef<absl::Status(
      absl::FunctionRef<absl::Status(TaskRecord)> visit)>;
  absl::StatusOr<uint64_t> ResumeTasks(TaskSource for_each);

  // --- Scale-out (docs/scale-out.md) ---

  // Wakes and cancels of tasks other daemons run go to their inboxes (see
  // TaskRunner::RouteToOwners). REQUIRES: `cluster` is the service's store;
  // both outlive the service. Call before serving.
  void RouteToOwners(ClusterStore& cluster, DelayedCalls& timer);
  // Resumes tasks this daemon just claimed, as ResumeUnfinished resumes
  // them (a task that cannot resume is recorded FAILED, without waiting
  // for the store). Returns the ids of those it could not spawn for the
  // daemon's own reasons (the admission bound, shutdown): the caller gives
  // them back to the store.
  std::vector<std::string> ResumeClaimed(std::vector<TaskRecord> records);

  // From now on submissions are refused with UNAVAILABLE; everything else
  // keeps working so running tasks can be woken, watched and cancelled.
  void BeginDrain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

 private:
  // A checked submit request, ready to start.
  struct Admitted {
    TaskRecord record;
    std::shared_ptr<const machine::Program> program;
    machine::Machine machine;
  };
  // Validates `request` and builds the task it asks for.
  absl::StatusOr<Admitted> Admit(absl::string_view ns,
                                 const v1::SubmitTaskRequest& request);
  // The compiled program and the definition a submit names.
  absl::StatusOr<std::shared_ptr<const machine::Program>> ResolveProgram(
      absl::string_view ns, const v1::SubmitTaskRequest& request);
  // Programs compiled during one resume pass, by the store's shared
  // definition message: stores share one message among the tasks of one
  // definition, so it is compiled (and keyed in programs_) once per
  // message, not once per task.
  using CompiledDefinitions = absl::flat_hash_map<
      const v1::TaskDefinition*,
      std::pair<SharedDefinition, std::shared_ptr<const machine::Program>>>;
  // Resumes one recorded task (ResumeUnfinished's step): true when it
  // runs, false when it could not resume and is recorded FAILED (`wait`:
  // as FailUnresumable's); errors: the daemon's own trouble
  // (RESOURCE_EXHAUSTED, UNAVAILABLE), or the store's, recording that
  // FAILED.
  absl::StatusOr<bool> ResumeRecord(TaskRecord record,
                                    CompiledDefinitions& compiled, bool wait);
  // A fresh daemon-chosen task id.
  std::string NewTaskId();
  // Records `record`'s task FAILED because it could not resume (`why`),
  // with a transition and a `finished` event. With `wait`, waits until that
  // is stored (on disk) and returns the store's error, if any: recovery
  // runs before serving, so no request waits meanwhile. Without (a claim),
  // returns at once and logs a failed write.
  absl::Status FailUnresumable(TaskRecord record, const absl::Status& why,
                               bool wait);

  Executor& executor_;
  TaskStore& store_;
  TaskRunner& runner_;
  const absl::Duration max_start_delay_;
  ProgramCache programs_;
  NamespaceAdmission& admission_;
  NamespaceMetrics* const namespace_metrics_;
  std::atomic<bool> draining_{false};
  // Daemon-chosen ids: a random per-process prefix and a counter.
  const uint64_t id_salt_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace corosched::server
