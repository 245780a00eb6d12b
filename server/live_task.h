#pragma once

// Internal to TaskRunner (server/task_runner.cc): the daemon's side of one
// task that runs on the executor.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/executor.h"
#include "core/machine/machine_task.h"
#include "core/machine/program.h"
#include "corosched/v1/scheduler.pb.h"
#include "server/store/task_store.h"

namespace corosched::server {

// Called once with the task as recorded after a requested cancel took
// effect (or after it ended some other way first).
using CancelCallback =
    absl::AnyInvocable<void(absl::StatusOr<TaskRecord> task) &&>;
// Called once with the answer to a wake, after it is stored.
using WakeCallback =
    absl::AnyInvocable<void(absl::StatusOr<v1::WakeTaskResponse>) &&>;

// What a poll of the task's future should do first.
enum class PollGate {
  kRun,     // the task is recorded: poll the machine
  kWait,    // not recorded yet: stay pending until Open()
  kCancel,  // a cancel (or a lost creation race) is pending: end the task
};

// One task the daemon has spawned and not yet seen end. Shared between its
// future (which the executor polls), the runner's map of live tasks, and
// RPC handlers that wake or cancel it.
//
// Lifecycle:
//  1. Created, spawned (admission), entered in the runner's map.
//  2. Recorded in the store (`created`), then Open(): polls may run the
//     machine. A task whose id the daemon chose is opened as soon as its
//     create is queued (OpenUnrecorded), before it is stored; it is
//     `created` once it is. A task resumed after a restart is recorded
//     already and is opened at once. A task that lost a race for its id is
//     `discarded` instead: its future ends at its first poll and nothing is
//     recorded.
//  3. Every poll: Enter() stores the task's Waker (so Cancel can wake it)
//     and says whether to run, wait or end.
//  4. The end (completed, failed, cancelled) is recorded once; `ended` is
//     set and the cancel callbacks fire.
//
// Thread-safety: fields are guarded as annotated; `poll_output`, the
// deferred counts and `record_held` are touched only inside the task's own
// poll (or its future's destructor), which the executor never runs twice at
// once.
class LiveTask {
 public:
  LiveTask(std::string task_id,
           std::shared_ptr<const machine::Program> task_program)
      : id(std::move(task_id)), program(std::move(task_program)) {}

  PollGate Enter(const Waker& polled_by) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    if (!waker.WillWake(polled_by)) waker = polled_by;
    if (cancel != nullptr) return PollGate::kCancel;
    return open ? PollGate::kRun : PollGate::kWait;
  }

  // Marks the task recorded and lets its polls run the machine (if
  // OpenUnrecorded did not already).
  void Open() ABSL_LOCKS_EXCLUDED(mu) {
    Waker to_wake;
    {
      absl::MutexLock lock(&mu);
      created = true;
      if (open) return;
      open = true;
      to_wake = waker;
    }
    std::move(to_wake).Wake();
  }

  // Lets its polls run the machine before its create is stored; see
  // TaskRunner::Record for when that is safe. Not `created`: wakes and
  // cancels still find no task until Open().
  void OpenUnrecorded() ABSL_LOCKS_EXCLUDED(mu) {
    Waker to_wake;
    {
      absl::MutexLock lock(&mu);
      if (open) return;
      open = true;
      to_wake = waker;
    }
    std::move(to_wake).Wake();
  }

  // Asks the task to end at its next poll. Returns false when it already
  // ended (then `done` was not taken).
  bool RequestCancel(std::string reason, CancelCallback& done,
                     bool discard = false) ABSL_LOCKS_EXCLUDED(mu) {
    Waker to_wake;
    {
      absl::MutexLock lock(&mu);
      if (ended) return false;
      if (cancel == nullptr) {
        cancel = std::make_unique<CancelRequest>();
        cancel->reason = std::move(reason);
      }
      if (discard) discarded = true;
      if (done) cancel->waiters.push_back(std::move(done));
      to_wake = waker;
    }
    std::move(to_wake).Wake();
    return true;
  }

  bool cancel_requested() ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    return cancel != nullptr;
  }

  // Before one of the task's progress writes is queued.
  void ProgressQueued() ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    ++progress_in_flight;
  }

  // From that write's callback, once it is stored (or failed): wakes a
  // poll that waits for it (WaitForProgressWrite).
  void ProgressStored() ABSL_LOCKS_EXCLUDED(mu) {
    Waker to_wake;
    {
      absl::MutexLock lock(&mu);
      if (--progress_in_flight == 0 && waits_for_write) {
        waits_for_write = false;
        to_wake = waker;
      }
    }
    std::move(to_wake).Wake();
  }

  // True when a progress write of the task is still in flight; then the
  // task is woken once none is. Its poll holds back its next record until
  // then, so one task has at most one progress write queued behind another
  // and what a busy task records coalesces in it (TaskRecorder).
  bool WaitForProgressWrite() ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    if (progress_in_flight == 0) return false;
    waits_for_write = true;
    return true;
  }

  const std::string id;
  const std::shared_ptr<const machine::Program> program;
  // Set before the task is spawned; never changed after.
  std::shared_ptr<machine::MachineTask> task;
  absl::Time submitted_at;  // for the task duration metric

  absl::Mutex mu;
  bool created ABSL_GUARDED_BY(mu) = false;
  bool open ABSL_GUARDED_BY(mu) = false;
  bool discarded ABSL_GUARDED_BY(mu) = false;
  bool ended ABSL_GUARDED_BY(mu) = false;
  Waker waker ABSL_GUARDED_BY(mu);
  // Progress writes queued and not yet answered by the store.
  int progress_in_flight ABSL_GUARDED_BY(mu) = 0;
  // A poll found one in flight and waits for the last to be answered.
  bool waits_for_write ABSL_GUARDED_BY(mu) = false;
  // Set once a cancel is requested (rare: kept behind a pointer, as is
  // wakes_in_flight, so that the million tasks a daemon may hold waiting
  // carry 8 bytes for it rather than 64).
  struct CancelRequest {
    std::string reason;
    // Answered once the end is recorded.
    std::vector<CancelCallback> waiters;
  };
  std::unique_ptr<CancelRequest> cancel ABSL_GUARDED_BY(mu);

  // Serializes "take a snapshot, write it to the store" between polls and
  // wakes, so an older snapshot never overwrites a newer one. Taken before
  // the MachineTask's own lock.
  absl::Mutex record_mu;
  v1::TaskStatus last_status ABSL_GUARDED_BY(record_mu) = v1::TASK_STATUS_READY;
  std::string last_state ABSL_GUARDED_BY(record_mu);
  uint64_t last_steps ABSL_GUARDED_BY(record_mu) = 0;

  // Wakes with a request id whose store write is in flight, by request id:
  // a repeat that arrives meanwhile waits here and gets the first answer
  // (duplicate = true) once it is stored, instead of being delivered twice.
  // Taken after record_mu (the store's `done` may run inside record_mu,
  // synchronously, with an in-memory store).
  absl::Mutex wakes_mu ABSL_ACQUIRED_AFTER(record_mu);
  // Null until the task's first wake with a request id.
  std::unique_ptr<absl::flat_hash_map<std::string, std::vector<WakeCallback>>>
      wakes_in_flight ABSL_GUARDED_BY(wakes_mu);

  // Events not yet recorded: the output of the poll in progress, and the
  // output and transitions of the polls before it whose record was deferred
  // (TaskRecorder::DeferPoll), oldest first.
  std::vector<v1::TaskEvent> poll_output;
  // Polls whose record was deferred since the last record, and the bytes of
  // output they emitted.
  int deferred_polls = 0;
  size_t deferred_bytes = 0;
  // The last poll's record waits in poll_output for the progress write in
  // flight to be stored (WaitForProgressWrite).
  bool record_held = false;
};

}  // namespace corosched::server
