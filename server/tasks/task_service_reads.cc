// TaskService's reads (docs in task_service.h): definitions, tasks and the
// queue's numbers, each of the caller's namespace, answered at once from
// the store and the work queues.

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/machine/proto_time.h"
#include "server/store/namespace_keys.h"
#include "server/tasks/request_checks.h"
#include "server/tasks/task_service.h"  // IWYU pragma: associated
#include "server/tasks/task_view.h"

namespace corosched::server {

absl::StatusOr<v1::GetDefinitionResponse> TaskService::GetDefinition(
    absl::string_view ns, const v1::GetDefinitionRequest& request) {
  if (request.name().empty()) {
    return absl::InvalidArgumentError("name: required");
  }
  const std::string key = NamespacedKey(ns, request.name());
  auto record = store_.GetDefinition(key, request.version());
  if (!record.ok()) return WithLocalName(record.status(), key);
  v1::GetDefinitionResponse response;
  *response.mutable_definition() = std::move(record->definition);
  response.mutable_definition()->set_name(request.name());
  *response.mutable_registered_at() =
      machine::ToProtoTimestamp(record->registered_at);
  return response;
}

absl::StatusOr<v1::ListDefinitionsResponse> TaskService::ListDefinitions(
    absl::string_view ns, const v1::ListDefinitionsRequest& request) {
  absl::StatusOr<int> page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  auto page = store_.ListDefinitions(
      {std::string(ns),
       request.name().empty() ? "" : NamespacedKey(ns, request.name()),
       *page_size, request.page_token()});
  if (!page.ok()) return page.status();
  v1::ListDefinitionsResponse response;
  for (const DefinitionRecord& record : page->definitions) {
    *response.add_definitions() = ToDefinitionSummary(record);
  }
  response.set_next_page_token(page->next_page_token);
  return response;
}

absl::StatusOr<v1::Task> TaskService::GetTask(
    absl::string_view ns, const v1::GetTaskRequest& request) {
  if (absl::Status id = CheckLookupId(request.task_id()); !id.ok()) return id;
  const std::string key = NamespacedKey(ns, request.task_id());
  absl::StatusOr<TaskRecord> record = store_.GetTask(key);
  if (!record.ok()) return WithLocalName(record.status(), key);
  v1::Task task = ToTaskMessage(*record);
  if (task.work().has_lease()) {
    // The record keeps the lease as it was taken; heartbeats and a cancel
    // move it in memory only. Show the lease as it stands.
    std::optional<LeaseRecord> lease =
        runner_.work_queues().FindLease(record->id);
    if (lease.has_value() && lease->attempt == task.work().attempt()) {
      v1::WorkLeaseRecord& shown = *task.mutable_work()->mutable_lease();
      if (lease->heartbeat_deadline != absl::InfiniteFuture()) {
        *shown.mutable_heartbeat_deadline() =
            machine::ToProtoTimestamp(lease->heartbeat_deadline);
      }
      shown.set_cancel_requested(lease->cancel_requested);
    }
  }
  return task;
}

absl::StatusOr<v1::ListTasksResponse> TaskService::ListTasks(
    absl::string_view ns, const v1::ListTasksRequest& request) {
  absl::StatusOr<int> page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  TaskQuery query;
  query.namespace_name = std::string(ns);
  query.status = request.status();
  query.definition_name = request.definition_name();
  query.labels.insert(request.labels().begin(), request.labels().end());
  query.page_size = *page_size;
  query.page_token = request.page_token();
  auto page = store_.ListTasks(query);
  if (!page.ok()) return page.status();
  v1::ListTasksResponse response;
  for (const TaskRecord& record : page->tasks) {
    *response.add_tasks() = ToTaskMessage(record);
  }
  response.set_next_page_token(page->next_page_token);
  return response;
}

absl::StatusOr<v1::QueueStats> TaskService::GetQueueStats(
    absl::string_view ns) {
  const ExecutorStats executor = executor_.Stats();
  auto counts = store_.CountTasksByStatusIn(ns);
  if (!counts.ok()) return counts.status();
  v1::QueueStats stats;
  uint64_t depth = executor.injection_queue_depth;
  for (size_t worker_depth : executor.worker_queue_depths) {
    stats.add_worker_queue_depths(worker_depth);
    depth += worker_depth;
  }
  stats.set_run_queue_depth(depth);
  stats.set_injection_queue_depth(executor.injection_queue_depth);
  for (const auto& [status, count] : *counts) {
    (*stats.mutable_tasks_by_status())[v1::TaskStatus_Name(status)] = count;
  }
  stats.set_admission_capacity(executor.max_tasks);
  stats.set_admission_in_use(executor.live_tasks);
  stats.set_namespace_(std::string(ns));
  stats.set_namespace_admission_capacity(admission_.max_tasks());
  stats.set_namespace_admission_in_use(admission_.Unfinished(ns));
  stats.set_workers(executor.worker_queue_depths.size());
  for (const WorkQueueStats& queue : runner_.work_queues().Stats()) {
    if (!KeyInNamespace(queue.queue, ns)) continue;
    v1::WorkQueueStats* out = stats.add_work_queues();
    out->set_queue(std::string(LocalName(queue.queue)));
    out->set_depth(queue.depth);
    *out->mutable_oldest_age() = machine::ToProtoDuration(queue.oldest_age);
    out->set_pollers(queue.pollers);
    out->set_leased(queue.leased);
  }
  return stats;
}

}  // namespace corosched::server
