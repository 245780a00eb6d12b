#pragma once

#include <ostream>

#include "client/cli/args.h"
#include "client/cli/exit_code.h"

namespace corosched::cli {

// Runs a parsed command line: connects to the daemon at
// invocation.globals.address, makes the calls, writes results to `out` and
// errors (and, for `watch` and `submit --wait`, the task's final line) to
// `err`. Returns the tool's exit code (see exit_code.h). Output is flushed
// as it is written, so `watch` is live.
ExitCode RunInvocation(const Invocation& invocation, std::ostream& out,
                       std::ostream& err);

}  // namespace corosched::cli
