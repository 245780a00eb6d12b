#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/executor.h"
#include "core/machine/machine.h"
#include "core/machine/plain_mutex.h"
#include "corosched/v1/task_state.pb.h"

namespace corosched::machine {

// How a task that ran a definition ended: COMPLETED with `result`, or FAILED
// with `error`. (A task cancelled through its JoinHandle yields CANCELLED
// from the executor instead.)
struct TaskEnd {
  v1::TaskStatus status = v1::TASK_STATUS_UNSPECIFIED;
  std::string result;
  std::string error;
};

// Called on a worker thread with each chunk of a task's output, in order,
// during the poll that emitted it and outside every lock. It may call
// MachineTask::Wake and RequestSnapshot, including on its own task, but not
// the blocking Snapshot.
using OutputCallback =
    absl::AnyInvocable<void(uint64_t sequence, absl::string_view text)>;

// Receives a snapshot asked for with RequestSnapshot.
using SnapshotCallback = absl::AnyInvocable<void(v1::TaskSnapshot)>;

class MachineFuture;

// A Machine running as a task on the executor: what outside code holds to
// deliver wake signals to the task and to read its state, while the task's
// future (MachineFuture) runs it.
//
//   auto spawned = SpawnMachine(*executor, std::move(machine), on_output);
//   spawned->task->Wake(signal);             // any thread
//   absl::StatusOr<TaskEnd> end = std::move(spawned->handle).Wait();
//
// The future owns the Machine and polls it without taking a lock, so a task
// that only yields costs the executor little more than a native future.
// Everything else meets under mu_: the future "parks" there whenever it
// stops to wait (sleep, await) or ends, publishing what Wake needs to know
// (status, the awaited signals, the deadline); Wake puts signals in an inbox
// the future drains into the machine when it parks or resumes, and every
// kRequestCheckPolls polls while it runs.
//
// Invariants:
//  - Only the future changes the Machine. Outside code reads it, under mu_,
//    only while it is parked (`waiting_`) or after it retired (`parked_`).
//  - `view_` is the machine's state as of its last park: exact while the
//    task is parked, and "running" while the future works.
//  - Every accepted signal is in the inbox or in the machine's mailbox, or
//    was taken by an await: none is lost, none is taken twice. (A signal
//    that arrives while the task runs reaches the mailbox when it next
//    parks: an await entered meanwhile suspends once before taking it.)
//
// Races, and why no wake is lost (mu_ orders every step):
//  1. Wake while the task runs: the signal goes to the inbox, receipt
//     kBuffered. If the run then reaches an await, parking drains the inbox
//     into the machine and polls again, so the await sees the signal.
//  2. Wake while the task is parked on an await of that name (and no
//     earlier signal of those names is queued, and the deadline has not
//     passed): receipt kConsumed, and the Waker stored at park is woken
//     after mu_ is released; the next poll drains the inbox and takes it.
//  3. Wake after the task ended or its future was dropped (cancelled, or
//     executor shutdown): kRefusedEnded.
//
// Thread-safety: every method may be called from any thread.
class MachineTask {
 public:
  // The task, and the future that runs it (it owns the Machine from now
  // on). Spawn the future yourself, or use SpawnMachine.
  static std::pair<std::shared_ptr<MachineTask>, MachineFuture> Create(
      Machine machine, TimerDriver* timers, OutputCallback on_output = {});

  // For Create only (it lets make_shared reach the constructor).
  class ConstructionToken {
    friend class MachineTask;
    ConstructionToken() = default;
  };
  MachineTask(ConstructionToken, const Machine& machine, TimerDriver* timers);

  // Delivers a wake signal at the clock's current time; see
  // Machine::Deliver for the receipt and the errors.
  absl::StatusOr<WakeReceipt> Wake(v1::Signal signal) ABSL_LOCKS_EXCLUDED(mu_);

  // Calls `done` with the task's whole state between two polls: at once
  // (on this thread) when the task is parked or ended; otherwise from the
  // worker running it, at its first poll, within kRequestCheckPolls polls,
  // or when it next parks. Never blocks.
  void RequestSnapshot(SnapshotCallback done) ABSL_LOCKS_EXCLUDED(mu_);

  // RequestSnapshot, waiting for the answer. For tests and tools.
  // REQUIRES: not called on a worker of the executor running this task.
  v1::TaskSnapshot Snapshot() ABSL_LOCKS_EXCLUDED(mu_);

  // The status as of the task's last park: READY while it runs.
  // (Cheaper than a snapshot: it never waits for a running task.)
  v1::TaskStatus status() const ABSL_LOCKS_EXCLUDED(mu_);

  // A running task looks for new requests every this many polls.
  static constexpr int kRequestCheckPolls = 64;

 private:
  friend class MachineFuture;

  // What Wake needs to know of the machine, published at each park.
  struct View {
    v1::TaskStatus status = v1::TASK_STATUS_READY;
    // The await the task is parked on, or null.
    const Program::State* awaiting = nullptr;
    std::optional<absl::Time> deadline;
    // Signals in the machine's mailbox at park time.
    size_t mailbox_size = 0;
  };

  // Sets view_ from `machine`, which is not running.
  void Publish(const Machine& machine, const Waker& waker)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Kept alive by the machine, which is always either in the future (which
  // retires into parked_ before it dies) or in parked_; a plain pointer
  // spares every task an atomic increment on the shared Program's count.
  const Program* const program_;
  TimerDriver* const timers_;

  // Set when the inbox or the snapshot requests grew; read and cleared by
  // the future. Relaxed is enough: the future takes mu_ before it reads
  // what the flag points at.
  std::atomic<bool> attention_{false};

  mutable PlainMutex mu_;
  // The machine once the task ended (or its future was dropped), kept for
  // snapshots; null before, and when nobody else held the task then.
  std::unique_ptr<Machine> parked_ ABSL_GUARDED_BY(mu_);
  // The future's machine while the task is parked (sleeping or awaiting):
  // the future does not change it before it takes mu_ to resume, so outside
  // code may read it under mu_. Null while the task runs.
  const Machine* waiting_ ABSL_GUARDED_BY(mu_) = nullptr;
  View view_ ABSL_GUARDED_BY(mu_);
  std::vector<Machine::AcceptedSignal> inbox_ ABSL_GUARDED_BY(mu_);
  uint64_t signal_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<SnapshotCallback> requests_ ABSL_GUARDED_BY(mu_);
  // The task's Waker as of its last park; empty while it runs.
  Waker waker_ ABSL_GUARDED_BY(mu_);
};

// The Future that runs a MachineTask: each poll runs Machine::Poll with the
// timer driver's clock, then re-wakes itself (yield, step budget), arms a
// timer (sleep, await timeout) and parks, or finishes. Dropping it before
// the task ended cancels the machine, so later wakes are refused.
//
// Thread-safety: a single-owner future, polled by one thread at a time.
class MachineFuture {
 public:
  using Output = TaskEnd;

  MachineFuture(MachineFuture&& other) noexcept = default;
  MachineFuture& operator=(MachineFuture&&) = delete;
  ~MachineFuture();

  corosched::Poll<TaskEnd> Poll(Context& cx);

 private:
  friend class MachineTask;
  MachineFuture(std::shared_ptr<MachineTask> task, Machine machine,
                OutputCallback on_output)
      : task_(std::move(task)),
        timers_(task_->timers_),
        machine_(std::move(machine)),
        on_output_(std::move(on_output)) {}

  // Runs the machine once; returns its outcome.
  PollOutcome RunMachine();
  // Called when the task was parked, on its first poll, and every
  // kRequestCheckPolls polls while it runs. Takes mu_ when the task was
  // parked or outside code left signals or requests: moves the inbox into
  // the machine, answers snapshot requests, and marks the task running.
  void MaybeResume();
  // With the machine waiting (kWait): publishes that and stores the Waker.
  // Returns false instead when signals arrived meanwhile (they are now in
  // the machine): poll it again.
  bool Park(const Waker& waker);
  // With the machine ended, or when dropped (`cancel`): hands it to the
  // task for good.
  TaskEnd Retire(bool cancel);
  // Arms the timer for `deadline`, if any.
  void ArmTimer(std::optional<absl::Time> deadline, Context& cx);
  // Under mu_: moves the inbox into the machine; true when it held any.
  bool DrainInbox() ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_->mu_);
  // Under mu_: takes the snapshot requests.
  std::vector<SnapshotCallback> TakeRequests()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_->mu_);

  // The hot part first: a poll that only yields reads nothing else.
  std::shared_ptr<MachineTask> task_;
  TimerDriver* timers_;
  Machine machine_;
  // Polls since the future last looked for requests; the first poll looks.
  int unsynced_polls_ = MachineTask::kRequestCheckPolls - 1;
  OutputCallback on_output_;
  // The timer for the current deadline, if any.
  std::optional<Sleep> sleep_;
};

// A MachineTask spawned on an executor, with its JoinHandle.
struct SpawnedMachine {
  std::shared_ptr<MachineTask> task;
  JoinHandle<TaskEnd> handle;
};

// Spawns `machine` on `executor`, using the executor's clock and timers.
// Fails as Executor::Spawn does (RESOURCE_EXHAUSTED past the admission
// bound, FAILED_PRECONDITION after shutdown began).
absl::StatusOr<SpawnedMachine> SpawnMachine(Executor& executor, Machine machine,
                                            OutputCallback on_output = {});

}  // namespace corosched::machine
