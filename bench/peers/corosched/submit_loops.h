#pragma once

// How corosched_peer_bench puts jobs on the daemon: the bulk path (one
// SubmitTasks stream per batch, batches one after another, as the peers'
// bulk enqueues are awaited) and the open loop (one SubmitTask per job at a
// fixed rate, each sent when due whatever the earlier ones are doing).
//
// Every job is a task of the registered bench definition: input `ts`, the
// time it was due (MonotonicMicros), which the worker compares with the
// time it starts the job.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/peers/corosched/monotonic_clock.h"
#include "client/client.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "corosched/v1/task_definition.pb.h"

namespace corosched::peers {

// The queue and the definition the driver registers: one `work` state on
// queue `bench` with the job's input, then complete.
inline constexpr char kQueue[] = "bench";
inline constexpr char kDefinitionName[] = "peer-bench";
absl::StatusOr<v1::TaskDefinition> BenchDefinition();

// Submits `count` jobs in SubmitTasks streams of `batch`, one stream after
// the other. The first refused job's status, naming its index.
absl::Status SubmitBulk(Client& client, int64_t count, int64_t batch);

// Sends `count` SubmitTask calls at `rate` per second from `start_us`
// (MonotonicMicros): job i at start_us + i / rate, without waiting for the
// answers of earlier ones; returns once every call is answered. The first
// failed call's status, with the number that failed.
absl::Status SubmitOpenLoop(v1::Scheduler::Stub& stub, int64_t count,
                            double rate, int64_t start_us);

}  // namespace corosched::peers
