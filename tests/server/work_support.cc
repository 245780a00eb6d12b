#include "tests/server/work_support.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"

namespace corosched::e2e {

v1::TaskDefinition DefinitionFromJson(const std::string& json) {
  v1::TaskDefinition definition;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &definition);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << json;
  return definition;
}

v1::TaskDefinition WorkJob(const std::string& queue,
                           const std::string& work_fields,
                           const std::string& state_fields,
                           const std::string& extra_states) {
  const std::string json = absl::Substitute(
      R"({"name": "job", "initial": "RUN",
          "inputs": [{"name": "job", "type": "INPUT_TYPE_STRING",
                      "required": true}],
          "states": {
            "RUN": {"work": {"queue": "$0", "input": {"job": "$${job}"},
                             "resultVariable": "r", "next": "DONE", $1}
                    $2},
            "DONE": {"complete": {"result": "$${r}"}}
            $3}})",
      queue, work_fields, state_fields.empty() ? "" : ", " + state_fields,
      extra_states.empty() ? "" : ", " + extra_states);
  return DefinitionFromJson(json);
}

v1::Task SubmitJob(v1::Scheduler::Stub& stub,
                   const v1::TaskDefinition& definition, const std::string& job,
                   const std::string& task_id) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = definition;
  (*request.mutable_inputs())["job"] = Text(job);
  request.set_task_id(task_id);
  v1::SubmitTaskResponse response;
  grpc::Status status = stub.SubmitTask(Deadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.task();
}

google::protobuf::Value JsonText(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  return value;
}

grpc::Status PollWork(v1::Scheduler::Stub& stub, const std::string& queue,
                      absl::Duration wait, uint32_t max_items,
                      std::vector<v1::WorkItem>* items,
                      const std::string& worker_identity) {
  v1::PollWorkRequest request;
  request.set_queue(queue);
  request.set_worker_identity(worker_identity);
  *request.mutable_wait() =
      google::protobuf::util::TimeUtil::MillisecondsToDuration(
          absl::ToInt64Milliseconds(wait));
  request.set_max_items(max_items);
  v1::PollWorkResponse response;
  grpc::Status status = stub.PollWork(Deadline(wait + absl::Seconds(10)).get(),
                                      request, &response);
  items->assign(response.items().begin(), response.items().end());
  return status;
}

std::optional<v1::WorkItem> TakeItem(v1::Scheduler::Stub& stub,
                                     const std::string& queue,
                                     absl::Duration timeout,
                                     const std::string& worker_identity) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::vector<v1::WorkItem> items;
    grpc::Status status =
        PollWork(stub, queue, absl::Seconds(1), 1, &items, worker_identity);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return std::nullopt;
    EXPECT_LE(items.size(), 1u);
    if (!items.empty()) return items.front();
  }
  return std::nullopt;
}

grpc::Status CompleteWork(v1::Scheduler::Stub& stub, const std::string& token,
                          const google::protobuf::Value& result) {
  v1::CompleteWorkRequest request;
  request.set_token(token);
  *request.mutable_result() = result;
  v1::CompleteWorkResponse response;
  return stub.CompleteWork(Deadline().get(), request, &response);
}

grpc::Status FailWork(v1::Scheduler::Stub& stub, const std::string& token,
                      const std::string& error, const std::string& message,
                      bool retryable) {
  v1::FailWorkRequest request;
  request.set_token(token);
  request.set_error(error);
  request.set_message(message);
  request.set_retryable(retryable);
  v1::FailWorkResponse response;
  return stub.FailWork(Deadline().get(), request, &response);
}

grpc::Status HeartbeatWork(v1::Scheduler::Stub& stub, const std::string& token,
                           v1::HeartbeatWorkResponse* response) {
  v1::HeartbeatWorkRequest request;
  request.set_token(token);
  v1::HeartbeatWorkResponse ignored;
  return stub.HeartbeatWork(Deadline().get(), request,
                            response != nullptr ? response : &ignored);
}

grpc::Status CancelTask(v1::Scheduler::Stub& stub, const std::string& task_id,
                        v1::Task* task) {
  v1::CancelTaskRequest request;
  request.set_task_id(task_id);
  v1::Task ignored;
  return stub.CancelTask(Deadline().get(), request,
                         task != nullptr ? task : &ignored);
}

v1::Task AwaitFinished(v1::Scheduler::Stub& stub, const std::string& task_id,
                       absl::Duration timeout) {
  v1::Task task;
  WaitFor(
      [&] {
        task = GetTask(stub, task_id);
        return task.has_finished_at();
      },
      timeout);
  return task;
}

v1::WorkQueueStats WorkQueueStatsOf(v1::Scheduler::Stub& stub,
                                    const std::string& queue) {
  v1::QueueStats stats;
  grpc::Status status =
      stub.GetQueueStats(Deadline().get(), v1::GetQueueStatsRequest(), &stats);
  EXPECT_TRUE(status.ok()) << status.error_message();
  for (const v1::WorkQueueStats& work : stats.work_queues()) {
    if (work.queue() == queue) return work;
  }
  v1::WorkQueueStats none;
  none.set_queue(queue);
  return none;
}

}  // namespace corosched::e2e
