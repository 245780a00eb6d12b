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
#include "absl/synchronization/mutex.h"
#include "core/executor.h"
#include "core/machine/machine.h"
#include "core/machine/machine_observer.h"
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
// the blocking Snapshot of its own task.
using OutputCallback =
    absl::AnyInvocable<void(uint64_t sequence, absl::string_view text)>;

// Called on the worker thread after a poll that returned kWork, outside
// every lock, with the order to put on a queue. It may call CompleteWork and
// FailWork, including on its own task.
using WorkCallback = absl::AnyInvocable<void(WorkOrder)>;

// Receives a snapshot asked for with RequestSnapshot.
using SnapshotCallback = absl::AnyInvocable<void(v1::TaskSnapshot)>;

class MachineFuture;

// A Machine running as a task on the executor: what outside code holds to
// deliver wake signals to the task and to read its state, while the task's
// future (MachineFuture) runs it.
//
//   auto spawned = SpawnMachine(*executor, std::move(machine), on_output);
//   spawned->task->Wake(signal);             // any thread
//   v1::TaskSnapshot now = spawned->task->Snapshot();
//   absl::StatusOr<TaskEnd> end = std::move(spawned->handle).Wait();
//
// The machine moves into the future at its first poll. From then on the
// future polls it without any lock when nobody else holds this MachineTask
// (a detached task: nobody can wake or observe it, so there is nothing to
// meet). An observed task meets outside code under mu_ twice a poll: at the
// start (signals Wake left in the inbox move into the machine) and at the
// end, where the future publishes the status and the mailbox size and lets
// outside code read the machine until its next poll: Wake asks it
// Machine::SignalDisposition, snapshots copy it. Whether a task is observed is
// decided at its first poll: whoever holds the MachineTask then (besides the
// future) can observe it, and nobody can obtain it later.
//
// Invariants:
//  - Only the future changes the machine once it took it. Outside code reads
//    it, under mu_, only between polls (`waiting_`) or after the future
//    retired (`ended_`); before the first poll it is `unstarted_`.
//  - `view_` is the machine's state as of the end of its last poll (or its
//    start); while a poll runs it says READY.
//  - Every accepted signal is in the inbox or in the machine's mailbox, or
//    was taken by an await: none is lost, none is taken twice.
//
// Races, and why no wake is lost (mu_ orders every step):
//  1. Wake during a poll: the signal goes to the inbox, receipt kBuffered.
//     The poll's end drains the inbox into the machine; if the machine is
//     awaiting, it is polled again at once, so the await sees the signal.
//  2. Wake between polls: the machine's SignalDisposition decides, with the
//     inbox counted as signals that arrived earlier. When kConsumed (the
//     task awaits that name, no earlier signal of those names is queued,
//     the deadline has not passed), the Waker stored at the end of the last
//     poll is woken after mu_ is released; the next poll drains the inbox
//     and takes the signal.
//  3. Wake after the task ended or its future was dropped (cancelled, or
//     executor shutdown): kRefusedEnded.
//
// Work answers (CompleteWork, FailWork) meet the future the same way. The
// end of each poll publishes the attempt the machine is WORKING on and
// numbers each new attempt put out (`work_generation_`); an answer is taken
// only for the published attempt, once per generation, into `answer_`, and
// the poll after applies it before running the machine. So an accepted
// answer is applied exactly once, unless the task ends first (4, 6):
//  4. Answer during a poll: it goes to `answer_`; the poll's end finds it
//     and polls again at once, applying it first. (The attempt it answers
//     was published before the poll; if the poll ended the task, say by its
//     timeout, the answer goes with the task.)
//  5. Answer between polls: `answer_`, then the Waker stored at the end of
//     the last poll is woken after mu_ is released.
//  6. Answer vs cancel: mu_ orders them. An answer after the future retired
//     is FAILED_PRECONDITION; one accepted before it is dropped with the
//     cancelled task.
//  7. Answer vs the task's timeout: the poll applies the answer first and
//     then checks the task deadline; at or after it the task fails with
//     "timeout" all the same. An answer after that poll is refused.
//
// A task in a work state whose future has no WorkCallback (or is detached,
// so nobody could answer) fails at that poll with "no work dispatcher".
//
// Thread-safety: every method may be called from any thread.
class MachineTask : public std::enable_shared_from_this<MachineTask> {
 public:
  // A task for `machine`; spawn MakeFuture() on the executor that owns
  // `timers` (or use SpawnMachine). `on_output` gets the task's output;
  // `observer`, if not null, hears of its signals (metrics); `on_work` gets
  // each attempt of work to put on a queue.
  // REQUIRES: `timers` outlives the task's future, and also the task itself
  // if the future is never made; `observer` outlives the task.
  static std::shared_ptr<MachineTask> Create(
      Machine machine, TimerDriver* timers, OutputCallback on_output = {},
      MachineObserver* observer = nullptr, WorkCallback on_work = {});

  // For Create only (it lets make_shared reach the constructor).
  class ConstructionToken {
    friend class MachineTask;
    ConstructionToken() = default;
  };
  MachineTask(ConstructionToken, Machine machine, TimerDriver* timers,
              OutputCallback on_output, MachineObserver* observer,
              WorkCallback on_work);
  // Tells the observer the task holds no more signals.
  ~MachineTask();
  MachineTask(const MachineTask&) = delete;
  MachineTask& operator=(const MachineTask&) = delete;

  // The future that runs this task. REQUIRES: called once.
  MachineFuture MakeFuture() ABSL_LOCKS_EXCLUDED(mu_);

  // Delivers a wake signal at the clock's current time; see
  // Machine::Deliver for the receipt and the errors.
  absl::StatusOr<WakeReceipt> Wake(v1::Signal signal) ABSL_LOCKS_EXCLUDED(mu_);

  // Calls `done` with the task's whole state between two polls: at once, on
  // this thread, unless a poll is running; then from its worker when the
  // poll ends (or when the future is dropped). Never blocks.
  void RequestSnapshot(SnapshotCallback done) ABSL_LOCKS_EXCLUDED(mu_);

  // The task's whole state between two polls, waiting for a running poll to
  // end. REQUIRES: not called from this task's own poll (its output
  // callback); anywhere else is fine, including the worker after the poll.
  v1::TaskSnapshot Snapshot() ABSL_LOCKS_EXCLUDED(mu_);

  // Hands the worker's answer to the task: FAILED_PRECONDITION when the
  // task ended, or is not WORKING on `attempt` (as of its last poll), or
  // that attempt was answered already; INVALID_ARGUMENT for a result
  // breaking the value limits (Machine::CheckWorkResult). OK: the answer is
  // kept and applied by the next poll, which is woken, at the clock's time
  // now. A result the task cannot hold after all (its variables budget)
  // fails the attempt as "invalid_result", not retryable.
  absl::Status CompleteWork(uint32_t attempt, google::protobuf::Value result)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status FailWork(uint32_t attempt, WorkFailure failure)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The status as of the end of the last poll; READY while a poll runs.
  v1::TaskStatus status() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class MachineFuture;

  // What Wake and status() need to know of the machine even while a poll
  // runs, published after each poll.
  struct View {
    v1::TaskStatus status = v1::TASK_STATUS_READY;
    // Signals in the machine's mailbox (an upper bound while a poll runs:
    // polls only take signals out).
    size_t mailbox_size = 0;
  };

  // A worker's answer, accepted and not yet applied.
  struct WorkAnswer {
    uint32_t attempt = 0;
    std::optional<google::protobuf::Value> result;  // set: completed
    WorkFailure failure;                            // otherwise
    absl::Time at;
  };

  // Sets view_ from `machine`, which is not running, and keeps `waker`;
  // `new_work`: its last poll put a new attempt out.
  void Publish(const Machine& machine, const Waker& waker, bool new_work)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps `answer` for the next poll, or says why not.
  absl::Status AcceptAnswer(WorkAnswer answer) ABSL_LOCKS_EXCLUDED(mu_);
  // The machine outside code may read now, or null while a poll runs.
  const Machine* IdleMachine() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells the observer how the held signals (view_'s mailbox plus the
  // inbox; none once ended) changed since it was last told.
  void ReportHeldSignals() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Kept alive by the machine, which is always in unstarted_, in the
  // future (which retires into ended_ before it dies), or in ended_; a
  // plain pointer spares each task an atomic increment on a count every
  // task of the definition shares.
  const Program* const program_;
  TimerDriver* const timers_;
  MachineObserver* const observer_;  // may be null

  mutable absl::Mutex mu_;
  // The machine before the first poll, and the output callback until
  // MakeFuture: behind one pointer, so a running task does not carry their
  // space (about 130 bytes per task).
  struct Unstarted {
    Machine machine;
    OutputCallback on_output;
    WorkCallback on_work;
  };
  std::unique_ptr<Unstarted> unstarted_ ABSL_GUARDED_BY(mu_);
  // The future's machine between its polls (observed tasks only).
  const Machine* waiting_ ABSL_GUARDED_BY(mu_) = nullptr;
  // The machine once the future retired; null when nobody observed it.
  std::unique_ptr<Machine> ended_ ABSL_GUARDED_BY(mu_);
  View view_ ABSL_GUARDED_BY(mu_);
  std::vector<Machine::AcceptedSignal> inbox_ ABSL_GUARDED_BY(mu_);
  uint64_t signal_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<SnapshotCallback> requests_ ABSL_GUARDED_BY(mu_);
  // The task's Waker as of the end of its last poll.
  Waker waker_ ABSL_GUARDED_BY(mu_);
  // The attempt the machine was WORKING on at the end of its last poll (0:
  // not working); kept while a poll runs. Each attempt put out is a new
  // generation, so that a later entry into a work state, with attempt 1
  // again, is not taken for the earlier one.
  uint32_t work_attempt_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t work_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The generation the last accepted answer was for.
  uint64_t answered_generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<WorkAnswer> answer_ ABSL_GUARDED_BY(mu_);
  // The held signals the observer was last told of.
  int64_t reported_held_ ABSL_GUARDED_BY(mu_) = 0;
};

// The Future that runs a MachineTask: each poll runs Machine::Poll with the
// timer driver's clock, then re-wakes itself (yield, step budget), arms a
// timer (sleep, await timeout), or finishes. Dropping it before the task
// ended cancels the machine, so later wakes are refused.
//
// Thread-safety: a single-owner future, polled by one thread at a time.
class MachineFuture {
 public:
  using Output = TaskEnd;

  // A future for a task nobody will wake or observe (fire and forget, like
  // a native future): no MachineTask, no shared state, no lock ever.
  static MachineFuture Detached(Machine machine, TimerDriver* timers,
                                OutputCallback on_output = {});

  MachineFuture(MachineFuture&& other) noexcept = default;
  MachineFuture& operator=(MachineFuture&&) = delete;
  ~MachineFuture();

  corosched::Poll<TaskEnd> Poll(Context& cx);

  // After a Poll that returned Pending: true when the task woke itself to be
  // polled again at once (a yield, or the step budget ran out), rather than
  // waiting for a timer or a signal. The daemon defers recording such polls.
  bool runs_again() const { return runs_again_; }
  // The machine's state name and status as of the end of the last poll.
  // REQUIRES: the last Poll returned Pending (the machine is the future's).
  const std::string& state_name() const { return machine_->state_name(); }
  v1::TaskStatus status() const { return machine_->status(); }

 private:
  friend class MachineTask;
  MachineFuture(std::shared_ptr<MachineTask> task, OutputCallback on_output,
                WorkCallback on_work)
      : task_(std::move(task)),
        timers_(task_->timers_),
        observer_(task_->observer_),
        on_output_(std::move(on_output)),
        on_work_(std::move(on_work)) {}
  MachineFuture(Machine machine, TimerDriver* timers, OutputCallback on_output)
      : timers_(timers),
        machine_(std::move(machine)),
        on_output_(std::move(on_output)) {}

  // The first poll: takes the machine and decides whether it is observed.
  void Start();
  // An observed task's poll start: the machine is the future's again; the
  // inbox moves into it.
  void Resume();
  // An observed task's poll end: publishes the machine and stores `waker`.
  // Returns false instead when it took in signals the machine awaits, or a
  // work answer: then poll the machine again.
  bool Publish(const Waker& waker, bool new_work);
  // Applies the answer taken from the task, if any.
  void ApplyAnswer();
  // Under mu_: takes the task's answer, if any, for ApplyAnswer.
  void TakeAnswer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_->mu_);
  // With the machine ended, or when dropped (`cancel`): hands it over to the
  // task for good when someone may still ask for it.
  TaskEnd Retire(bool cancel);
  // Arms the timer for `deadline`, if any.
  void ArmTimer(std::optional<absl::Time> deadline, Context& cx);
  PollOutcome RunMachine();
  // Under mu_: moves the inbox into the machine; true when it held any.
  bool DrainInbox() ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_->mu_);
  std::vector<SnapshotCallback> TakeRequests()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_->mu_);

  // What a poll reads comes first. Null when detached, moved from or ended.
  std::shared_ptr<MachineTask> task_;
  TimerDriver* timers_;
  MachineObserver* observer_ = nullptr;  // the task's; null when detached
  std::optional<Machine> machine_;       // from the first poll
  bool observed_ = false;
  bool runs_again_ = false;  // see runs_again()
  OutputCallback on_output_;
  WorkCallback on_work_;
  // An answer taken from the task, applied before the next machine poll.
  std::optional<MachineTask::WorkAnswer> answer_;
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
                                            OutputCallback on_output = {},
                                            WorkCallback on_work = {});

}  // namespace corosched::machine
