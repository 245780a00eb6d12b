#pragma once

// Internal to TaskRunner (server/tasks/task_runner.cc) and its TaskRecorder:
// the daemon's side of one task that runs on the executor.

#include <atomic>
#include <cstddef>
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
#include "absl/time/time.h"
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

// What TaskRecorder keeps of one task; only the recorder touches it.
struct TaskRecording {
  // What the store holds (or will, once queued writes land), to tell a
  // transition from a poll that stayed in its state. Guarded by the task's
  // record_mu.
  v1::TaskStatus last_status = v1::TASK_STATUS_READY;
  std::string last_state;
  uint64_t last_steps = 0;

  // The rest is the task's own poll's (or its future's destructor's), which
  // the executor never runs twice at once. Events not yet recorded: the
  // output of the poll in progress, and the output and transitions of the
  // polls before it whose record was deferred, oldest first.
  std::vector<v1::TaskEvent> unrecorded;
  // Polls deferred since the last record, and the bytes they emitted.
  int deferred_polls = 0;
  size_t deferred_bytes = 0;
  // The last poll's record waits in `unrecorded` for the progress write in
  // flight to be answered (LiveTask::WaitForProgressWrite).
  bool held = false;

  // Work (task_recorder_work.cc); guarded by the task's record_mu.
  // The attempt of the last recorded snapshot's `work` (0: none).
  uint32_t last_work_attempt = 0;
  struct Work {
    // The lease of attempt `lease_attempt` of the work entered at step
    // `lease_steps` (a task may enter the same or another work state again,
    // with attempts from 1 again), copied into every snapshot recorded while
    // that attempt is current (0: none).
    uint32_t lease_attempt = 0;
    uint64_t lease_steps = 0;
    v1::WorkLeaseRecord lease;
    // Told when the lease is stored, if the first write to carry it is
    // still to come (TaskRecorder::RecordLease).
    absl::AnyInvocable<void(const absl::Status&)> lease_written;
    // Worker answers accepted for an attempt, each answered once a
    // recorded snapshot shows the attempt over (TaskRecorder::ExpectAnswer).
    struct AnswerWaiter {
      uint64_t id;
      uint32_t attempt;
      uint64_t steps;  // steps().total() while the attempt is current
      absl::AnyInvocable<void(const absl::Status&)> done;
    };
    std::vector<AnswerWaiter> answer_waiters;
    uint64_t next_waiter_id = 1;
  };
  // Made when the task first leases work: most tasks never do, and a
  // daemon may hold a million waiting ones.
  std::unique_ptr<Work> work;
};

// The wakes of one task whose request id is in flight: looked up in the
// store (was it answered before?), then delivered and stored. A repeat that
// arrives meanwhile waits here for the first answer instead of being
// delivered twice.
//
// Thread-safety: every method from any thread.
class WakeRequestsInFlight {
 public:
  // Joins `done` to the wake of `request_id` in flight and returns true;
  // or, when none is, returns false, leaving `done`, and the caller's wake
  // is in flight from now on: the caller must Finish it.
  bool JoinOrBegin(const std::string& request_id, WakeCallback& done)
      ABSL_LOCKS_EXCLUDED(mu_);
  // It is answered: returns the repeats that joined it.
  std::vector<WakeCallback> Finish(const std::string& request_id)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  // Null until the task's first wake with a request id (rare: a million
  // waiting tasks carry 8 bytes for it, not a map).
  std::unique_ptr<absl::flat_hash_map<std::string, std::vector<WakeCallback>>>
      waiting_ ABSL_GUARDED_BY(mu_);
};

// One task the daemon has spawned and not yet seen end. Shared between its
// future (which the executor polls), the runner's map of live tasks, and
// RPC handlers that wake or cancel it.
//
// Lifecycle:
//  1. Created, its MachineTask set, spawned (admission), entered in the
//     runner's map.
//  2. Recorded in the store (created()), then Open(): polls may run the
//     machine. A task whose id the daemon chose is opened as soon as its
//     create is queued (OpenUnrecorded), before it is stored; it is
//     created() once it is. A task resumed after a restart is recorded
//     already and is opened at once. A task that lost a race for its id is
//     discarded instead: its future ends at its first poll and nothing is
//     recorded.
//  3. Every poll: Enter() keeps the poll's Waker (so a cancel or a stored
//     write can wake it) and says whether to run, wait or end.
//  4. The end (completed, failed, cancelled) is recorded once; Ended()
//     marks it and hands over the cancel callbacks to answer. Or, with a
//     shared store, the daemon loses the task's lease: Abandon() ends it
//     here without a record (another daemon runs it from what is stored).
//
// Invariants:
//  - A task has at most one progress write it must wait for before its next
//    record (WaitForProgressWrite), so what a busy task records coalesces
//    and the store's queue does not grow with its speed.
//  - Once ended, RequestCancel takes no more callbacks.
//
// Lock order: record_mu(), then the internal mutex (the store's callback
// may run inside record_mu(), synchronously, with an in-memory store).
//
// Thread-safety: every method from any thread, except as noted.
class LiveTask {
 public:
  LiveTask(std::string id, std::shared_ptr<const machine::Program> program,
           absl::Time submitted_at)
      : id_(std::move(id)),
        program_(std::move(program)),
        submitted_at_(submitted_at) {}
  LiveTask(const LiveTask&) = delete;
  LiveTask& operator=(const LiveTask&) = delete;

  const std::string& id() const { return id_; }
  const machine::Program& program() const { return *program_; }
  // For the task duration metric.
  absl::Time submitted_at() const { return submitted_at_; }

  // The task's machine. REQUIRES: set_task was called (before the spawn).
  machine::MachineTask& task() const { return *task_; }
  void set_task(std::shared_ptr<machine::MachineTask> task) {
    task_ = std::move(task);
  }

  // --- The gate ---

  PollGate Enter(const Waker& polled_by) ABSL_LOCKS_EXCLUDED(mu_);
  // Marks the task recorded and lets its polls run the machine (if
  // OpenUnrecorded did not already).
  void Open() ABSL_LOCKS_EXCLUDED(mu_);
  // Lets its polls run the machine before its create is stored; see
  // TaskRunner::Record for when that is safe. Not created(): wakes and
  // cancels still find no task until Open().
  void OpenUnrecorded() ABSL_LOCKS_EXCLUDED(mu_);
  bool created() ABSL_LOCKS_EXCLUDED(mu_);

  // --- Cancel and end ---

  // Asks the task to end at its next poll; `discard` for a task that must
  // not be recorded at all. Returns false when it already ended (then
  // `done` was not taken).
  bool RequestCancel(std::string reason, CancelCallback& done,
                     bool discard = false) ABSL_LOCKS_EXCLUDED(mu_);
  bool cancel_requested() ABSL_LOCKS_EXCLUDED(mu_);
  // At the poll that ends a cancelled task: the reason to record, or
  // nullopt when nothing is recorded (discarded, or never created; then the
  // task is ended here).
  std::optional<std::string> CancelToRecord() ABSL_LOCKS_EXCLUDED(mu_);
  // The executor dropped the task without its ending.
  enum class Drop {
    kNothing,          // not created, discarded, or ended already
    kLeaveUnfinished,  // at shutdown: stays as last recorded
    kRecordCancel,     // record it as cancelled (a requested cancel, or a
                       // drop outside shutdown)
  };
  Drop Dropped(bool shutting_down) ABSL_LOCKS_EXCLUDED(mu_);
  // The end's write is answered: the task is ended; returns the cancel
  // callbacks to answer.
  std::vector<CancelCallback> Ended() ABSL_LOCKS_EXCLUDED(mu_);
  // Its lease was lost: it ends at its next poll like a discarded task,
  // recording nothing, and takes no more cancels. Returns the cancel
  // callbacks waiting for an end that will not be recorded here (empty
  // when it had ended already).
  std::vector<CancelCallback> Abandon() ABSL_LOCKS_EXCLUDED(mu_);
  // Whether Abandon was called. Read without a lock by the recorder before
  // each write; acquire pairs with Abandon's release, so a write queued
  // after the abandon sees it (one queued before is refused by the
  // store's fencing instead).
  bool abandoned() const { return abandoned_.load(std::memory_order_acquire); }

  // --- Progress writes in flight ---

  // Before one of the task's progress writes is queued.
  void ProgressQueued() ABSL_LOCKS_EXCLUDED(mu_);
  // From that write's callback, once it is stored (or failed): wakes a
  // poll that waits for it.
  void ProgressStored() ABSL_LOCKS_EXCLUDED(mu_);
  // True when a progress write of the task is still in flight; then the
  // task is woken once none is.
  bool WaitForProgressWrite() ABSL_LOCKS_EXCLUDED(mu_);

  // --- Records ---

  // Serializes "take a snapshot, queue its write" between polls and wakes,
  // so the store gets the task's writes in the order they happened. Taken
  // before the MachineTask's own lock.
  absl::Mutex& record_mu() ABSL_LOCK_RETURNED(record_mu_) { return record_mu_; }
  WakeRequestsInFlight& wakes_in_flight() { return wakes_in_flight_; }

 private:
  friend class TaskRecorder;

  const std::string id_;
  const std::shared_ptr<const machine::Program> program_;
  const absl::Time submitted_at_;
  std::shared_ptr<machine::MachineTask> task_;

  absl::Mutex mu_ ABSL_ACQUIRED_AFTER(record_mu_);
  bool created_ ABSL_GUARDED_BY(mu_) = false;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  bool discarded_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> abandoned_{false};
  Waker waker_ ABSL_GUARDED_BY(mu_);
  int progress_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // A poll found one in flight and waits for the last to be answered.
  bool waits_for_write_ ABSL_GUARDED_BY(mu_) = false;
  // Set once a cancel is requested (rare: behind a pointer, so that the
  // million tasks a daemon may hold waiting carry 8 bytes for it, not 64).
  struct CancelRequest {
    std::string reason;
    // Answered once the end is recorded.
    std::vector<CancelCallback> waiters;
  };
  std::unique_ptr<CancelRequest> cancel_ ABSL_GUARDED_BY(mu_);

  absl::Mutex record_mu_;
  // TaskRecorder's; see TaskRecording for which parts record_mu_ guards.
  TaskRecording recording_;
  WakeRequestsInFlight wakes_in_flight_;
};

}  // namespace corosched::server
