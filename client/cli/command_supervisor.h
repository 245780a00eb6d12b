#pragma once

#include <functional>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/cli/child_process.h"
#include "client/cli/work_answer.h"

namespace corosched::cli {

// The commands `corosched worker` is running, one per held item, and the
// one thread that stops them: a command whose item no longer wants an
// answer (its task was cancelled, its lease lost) is killed, and so is
// every command once the worker must stop at once.
//
//   CommandSupervisor supervisor(absl::Seconds(10), absl::Milliseconds(100));
//   // on an item's handler thread:
//   supervisor.Add(child, [&work] { return work.cancel_requested(); });
//   absl::StatusOr<ChildOutcome> outcome = child->Wait();
//   StopReason why = supervisor.Remove(child);
//
// "Kill" is ChildProcess::Kill(kill_grace): SIGTERM to the command's
// process group, SIGKILL after the grace.
//
// Each command's cancel check is asked every `check_every` on the
// supervisor's thread (the Worker tells a handler of a cancel only through
// WorkContext::cancel_requested, which its heartbeats set), so a cancel is
// acted on within check_every of the heartbeat that brought it.
//
// Thread safety: every method may be called from any thread. A command is
// Added after ChildProcess::Start and Removed after its Wait returned, by
// the thread that runs it; the cancel check is called under the
// supervisor's lock, so it must not call back into the supervisor.
class CommandSupervisor {
 public:
  // `check_every` InfiniteDuration starts no thread: CheckNow is then the
  // only way cancels are noticed (for tests).
  CommandSupervisor(absl::Duration kill_grace, absl::Duration check_every);
  // Joins the thread. REQUIRES: every command was Removed.
  ~CommandSupervisor();
  CommandSupervisor(const CommandSupervisor&) = delete;
  CommandSupervisor& operator=(const CommandSupervisor&) = delete;

  // `child` runs for an item; `cancel_requested` says when its answer is no
  // longer wanted. After StopAll, `child` is killed at once.
  void Add(ChildProcess* child, std::function<bool()> cancel_requested);
  // `child` has ended (its Wait returned): forgets it and says whether, and
  // why, it was killed.
  StopReason Remove(ChildProcess* child);

  // Asks every running command's cancel check now, and kills the ones
  // cancelled.
  void CheckNow();
  // Kills every running command and every one Added from now on
  // (kWorkerStopping).
  void StopAll();

 private:
  struct Running {
    std::function<bool()> cancel_requested;
    StopReason stopped = StopReason::kNone;
  };

  void Stop(ChildProcess* child, Running* running, StopReason why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WatchLoop();

  const absl::Duration kill_grace_;
  const absl::Duration check_every_;
  absl::Mutex mu_;
  std::map<ChildProcess*, Running> running_ ABSL_GUARDED_BY(mu_);
  bool stop_all_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace corosched::cli
