#pragma once

// Helpers for the worker end-to-end tests (work_test.cc,
// work_durability_test.cc, crash_test.cc): task definitions with one `work`
// state, and the worker RPCs called through the generated stub, so a test
// can send any bytes as a token and any value as a result.

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "grpcpp/grpcpp.h"

namespace corosched::e2e {

// A definition parsed from protobuf's JSON mapping; fails the test (and
// returns an empty definition) when the text does not parse.
v1::TaskDefinition DefinitionFromJson(const std::string& json);

// "job": state RUN puts {"job": "${job}"} on `queue` with `work_fields`
// (JSON members added to the work object, e.g. R"("heartbeat": "1s")"),
// its result lands in `r`, and DONE completes the task with `${r}`.
// `state_fields` are JSON members added to RUN (`retry`, `catch`), and
// `extra_states` whole states added after DONE (e.g. a catcher's target).
// The task takes the input `job` (a string, required).
v1::TaskDefinition WorkJob(const std::string& queue,
                           const std::string& work_fields,
                           const std::string& state_fields = "",
                           const std::string& extra_states = "");

// Submits `definition` with input job = `job` (and the given task id, if
// not empty); fails the test on error.
v1::Task SubmitJob(v1::Scheduler::Stub& stub,
                   const v1::TaskDefinition& definition, const std::string& job,
                   const std::string& task_id = "");

// A JSON string value.
google::protobuf::Value JsonText(const std::string& text);

// One PollWork call.
grpc::Status PollWork(v1::Scheduler::Stub& stub, const std::string& queue,
                      absl::Duration wait, uint32_t max_items,
                      std::vector<v1::WorkItem>* items,
                      const std::string& worker_identity = "e2e-worker");

// Polls `queue` (1 s at a time) until an item arrives or `timeout` passes.
std::optional<v1::WorkItem> TakeItem(
    v1::Scheduler::Stub& stub, const std::string& queue,
    absl::Duration timeout = absl::Seconds(20),
    const std::string& worker_identity = "e2e-worker");

grpc::Status CompleteWork(v1::Scheduler::Stub& stub, const std::string& token,
                          const google::protobuf::Value& result);
grpc::Status FailWork(v1::Scheduler::Stub& stub, const std::string& token,
                      const std::string& error, const std::string& message,
                      bool retryable);
grpc::Status HeartbeatWork(v1::Scheduler::Stub& stub, const std::string& token,
                           v1::HeartbeatWorkResponse* response = nullptr);

// CancelTask; the status of the call.
grpc::Status CancelTask(v1::Scheduler::Stub& stub, const std::string& task_id,
                        v1::Task* task = nullptr);

// The task once it has finished (polls GetTask up to `timeout`); the last
// answer otherwise.
v1::Task AwaitFinished(v1::Scheduler::Stub& stub, const std::string& task_id,
                       absl::Duration timeout = absl::Seconds(20));

// `queue`'s entry in GetQueueStats (a default one when it is not listed).
v1::WorkQueueStats WorkQueueStatsOf(v1::Scheduler::Stub& stub,
                                    const std::string& queue);

}  // namespace corosched::e2e
