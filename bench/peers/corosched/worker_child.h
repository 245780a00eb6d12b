#pragma once

// The worker process of corosched_peer_bench, seen from the driver: started
// as a child with a pipe each way, and spoken to in lines (the protocol is
// in peer_worker.cc's header comment).
//
//   absl::StatusOr<std::unique_ptr<WorkerChild>> worker =
//       WorkerChild::Start({"build/.../corosched_peer_worker", "--target", a});
//   absl::StatusOr<std::string> ready = (*worker)->ReadLine(absl::Seconds(60));
//   (*worker)->WriteLine("arm 1000");
//
// The child's stderr is the driver's. A child still running when its
// WorkerChild is destroyed is killed (SIGKILL) and reaped.
//
// Thread-safety: one thread at a time.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace corosched::peers {

class WorkerChild {
 public:
  // Runs argv[0] (a path) with `argv`. INTERNAL when it cannot be started.
  static absl::StatusOr<std::unique_ptr<WorkerChild>> Start(
      const std::vector<std::string>& argv);

  ~WorkerChild();
  WorkerChild(const WorkerChild&) = delete;
  WorkerChild& operator=(const WorkerChild&) = delete;

  // Writes `line` and a newline to the child's stdin.
  absl::Status WriteLine(absl::string_view line);
  // The child's next stdout line, without its newline. DEADLINE_EXCEEDED
  // after `timeout`; UNAVAILABLE when the child closed its stdout (exited).
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);
  // Closes the child's stdin and waits up to `timeout` for it to exit; then
  // kills it. The child's exit code, or INTERNAL when it was killed.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  pid_t pid() const { return pid_; }

 private:
  WorkerChild(pid_t pid, int to_child, int from_child)
      : pid_(pid), to_child_(to_child), from_child_(from_child) {}

  pid_t pid_;
  int to_child_;
  int from_child_;
  bool reaped_ = false;
  // Read from the child but not yet returned as a line.
  std::string buffered_;
};

}  // namespace corosched::peers
