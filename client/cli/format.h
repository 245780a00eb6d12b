#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "corosched/v1/scheduler.pb.h"

namespace corosched::cli {

// Text output of the `corosched` tool, for people: one line per item in
// lists. (--output json prints protobuf JSON instead; see ToJson.) None of
// these end in a newline unless they span several lines.

// A value as written on the command line: 3, true, "text".
std::string ValueText(const v1::Value& value);

// "hello@1", or "hello" when the version is empty.
std::string DefinitionText(absl::string_view name, absl::string_view version);

// id status=... state=... definition=... [labels=k=v,...] [result=...]
// [error=...]
std::string TaskLine(const v1::Task& task);

// Every field of the task, one "name: value" per line; in a `work` state,
// its attempt: queue, attempt number, the worker holding it and the lease's
// deadlines, a requested cancel, and the previous attempt's error.
std::string TaskDetails(const v1::Task& task);

// "hello@1  registered 2024-05-01T10:00:00Z"
std::string DefinitionLine(const v1::DefinitionSummary& definition);

// "consumed (signal #2)", "buffered (signal #1, duplicate: not delivered
// again)".
std::string ReceiptText(const v1::WakeTaskResponse& receipt);

// "task ID completed", "task ID completed: RESULT", "task ID failed: ERROR".
std::string FinishedLine(absl::string_view task_id,
                         const v1::TaskResult& result);

// Several lines: queue depth, workers, admission, tasks by status, and a
// table of the work queues (depth, oldest item's age, pollers, leased).
std::string StatsText(const v1::QueueStats& stats);

}  // namespace corosched::cli
