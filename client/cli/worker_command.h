#pragma once

#include <cstddef>
#include <ostream>

#include "client/cli/args.h"
#include "client/cli/exit_code.h"
#include "client/connection.h"

namespace corosched::cli {

// Runs `corosched worker` (docs/cli.md, "worker") until SIGTERM or SIGINT:
// a corosched::Worker on command.queue whose handler runs command.command
// once per item, through a ChildProcess:
//
// - stdin: the item's input as JSON, then a newline;
// - environment: ours plus COROSCHED_TASK_ID, COROSCHED_ATTEMPT,
//   COROSCHED_QUEUE, COROSCHED_WORKER_IDENTITY and COROSCHED_ADDR (so the
//   command may call `corosched` itself);
// - stdout, at most kWorkResultLimit bytes: the result; its ending becomes
//   the answer as AnswerFor (work_answer.h) says;
// - stderr: passed on to this process's stderr (fd 2), each line after
//   "[TASK_ID#ATTEMPT] ".
//
// Signals: the first SIGTERM or SIGINT stops taking items and lets the held
// ones finish and be answered, then returns kExitSuccess; a second kills
// the running commands (answered worker_stopped, retryable). One line per
// item goes to `err` (WorkLogLine), one at start, at each signal and at the
// end, and one per problem the Worker handles itself (WorkerOptions::
// on_error: a stream reopened, an answer refused).
//
// Returns kExitUsage when the program cannot be found at start or the
// Worker refuses the queue (INVALID_ARGUMENT), kExitFailure for another
// start error, else kExitSuccess once stopped. Installs
// SIGTERM and SIGINT handlers for its duration: one worker per process.
ExitCode RunWorker(const WorkerCommand& command,
                   const ClientOptions& connection, std::ostream& err);

// The most a command may write to stdout: its result.
inline constexpr size_t kWorkResultLimit = size_t{1} << 20;

}  // namespace corosched::cli
