#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/cli/child_process.h"
#include "google/protobuf/struct.pb.h"

namespace corosched::cli {

// Why `corosched worker` stopped an item's command before it ended on its
// own, if it did.
enum class StopReason {
  kNone,
  // The task was cancelled, or the item's lease was lost (a heartbeat was
  // refused): the answer is no longer wanted.
  kCancelled,
  // The worker was told to stop at once (a second SIGTERM or SIGINT).
  kWorkerStopping,
};

// An item's answer, as `corosched worker` sends it: a result that completes
// the item (CompleteWork), or a failure (FailWork).
struct WorkAnswer {
  bool completed = false;
  google::protobuf::Value result;  // when completed
  // When not completed: FailWork's error name, message and retryable.
  std::string error;
  std::string message;
  bool retryable = false;
};

// How an item's command ended, as its answer. `program` names the command
// in messages; `stdout_limit` is the ChildOptions' one.
//
//   exit 0, stdout JSON            the result (empty stdout: JSON null)
//   exit 0, stdout not JSON        invalid_result    not retryable
//   exit 0, stdout over the limit  result_too_large  not retryable
//   exit N (N > 0)                 exit_N            retryable
//   killed by signal S             signal_S          retryable
//   stopped, kCancelled            cancelled         not retryable
//   stopped, kWorkerStopping       worker_stopped    retryable
//
// A failure's message is the command's last stderr line, or says what
// happened when it wrote none (and for the rows without an exit code). A
// command that exits 0 after it was told to stop still completes the item
// with its result.
WorkAnswer AnswerFor(const ChildOutcome& outcome, StopReason stop,
                     size_t stdout_limit, absl::string_view program);

// The answer when the command could not be started at all: start_failed,
// retryable (another worker may have the program).
WorkAnswer StartFailure(const absl::Status& start_error);

// One line for the worker's log, e.g.
//   task 01J.. attempt 2: completed in 1.25s
//   task 01J.. attempt 1: failed exit_3 (retryable) in 310ms: boom
std::string WorkLogLine(absl::string_view task_id, uint32_t attempt,
                        const WorkAnswer& answer, absl::Duration took);

}  // namespace corosched::cli
