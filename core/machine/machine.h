#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/machine/payload.h"
#include "core/machine/program.h"
#include "core/machine/value.h"
#include "corosched/v1/task_state.pb.h"
#include "google/protobuf/map.h"

namespace corosched::machine {

// What a poll left the task needing.
struct PollOutcome {
  enum class Next {
    // Pending: poll again soon (a yield, or the step budget ran out).
    kRunAgain,
    // Pending: poll again at `deadline` (a sleep, an await timeout, the
    // task's timeout) or, when awaiting, once a signal is delivered, or,
    // when WORKING, once the work's answer was given. No deadline: only
    // then.
    kWait,
    // Pending: this poll left the task WORKING with a new attempt out (it
    // entered a work state, or a retry's back-off ended): the caller puts
    // work_order() on its queue. `deadline` is then the task deadline, if
    // any. A poll of a task already WORKING (no answer applied) changes
    // nothing: 0 steps, kWait with the task deadline as deadline.
    kWork,
    // Ready: the task ended; Machine::status() says how.
    kEnded,
  };
  Next next = Next::kWait;
  // For a task not ended: the earlier of the state's deadline and the
  // task's (TaskSnapshot.task_deadline).
  std::optional<absl::Time> deadline;
  // States entered by this poll (0 when it only found it must keep waiting).
  int steps = 0;
};

// The answer to delivering a wake signal.
struct WakeReceipt {
  enum class Disposition {
    // The task is awaiting this signal and will take it on its next poll.
    kConsumed,
    // Kept in the mailbox, in arrival order, until an await takes it.
    kBuffered,
    // The task has ended; the signal was dropped.
    kRefusedEnded,
  };
  Disposition disposition;
  // The signal's arrival number in this task (PendingSignal.sequence); 0
  // when refused.
  uint64_t sequence = 0;
  // When it was accepted (PendingSignal.received_at); unset when refused.
  absl::Time received_at;
};

// How a task starts, beyond its inputs.
struct StartOptions {
  // Seeds retry jitter (TaskSnapshot.random_seed); the daemon draws it.
  uint64_t random_seed = 0;
};

// What the daemon puts on a work queue for the current attempt.
struct WorkOrder {
  std::string queue;
  uint32_t attempt = 1;
  // Rendered once per entry into the state: strings rendered as templates;
  // a string that is exactly one ${path} becomes that value whole.
  google::protobuf::Value input;
  absl::Duration timeout = absl::ZeroDuration();  // zero: none
  absl::Duration heartbeat = absl::ZeroDuration();
  absl::Duration schedule_timeout = absl::ZeroDuration();
  // When this attempt was put out (the poll's now).
  absl::Time scheduled_at = absl::InfinitePast();
};

// How a work attempt failed.
struct WorkFailure {
  // The name retry and catch match: a worker's name, or "timeout",
  // "heartbeat_timeout", "schedule_timeout".
  std::string error;
  std::string message;
  // False: no retry rule applies (catchers still do).
  bool retryable = true;
};

// True for COMPLETED, FAILED and CANCELLED.
bool IsEnded(v1::TaskStatus status);

// The RESOURCE_EXHAUSTED answer to a signal for a task whose mailbox holds
// `pending` signals, the limit.
absl::Status MailboxFullError(size_t pending, absl::string_view signal);

// Receives each emitted chunk of output, in order, during Poll.
using OutputSink =
    absl::FunctionRef<void(uint64_t sequence, absl::string_view text)>;

// Tells Poll the current time; called at most once per poll, and only when
// the poll needs the time (to leave a sleep or await, or to start one), so a
// poll that only yields never reads a clock.
using TimeSource = absl::FunctionRef<absl::Time()>;

// The interpreter: one task running one Program, as a deterministic state
// machine. It knows nothing of executors or threads; time is passed in. The
// same program, inputs, signals and times always give the same outputs and
// final state, and Restore(Snapshot()) continues exactly as the original.
//
// Each Poll runs the current state: its actions, then its suspension:
//  1. A task SLEEPING before its deadline, or AWAITING with no usable signal
//     before its deadline, stays as it is (0 steps).
//  2. Otherwise it leaves the suspension (deadline passed -> `next` or
//     `onTimeout`; earliest matching signal -> its target, payload landed in
//     variables) and enters states until one suspends or ends: yield
//     (kRunAgain), sleep or await (kWait), work (kWork), complete or fail
//     (kEnded). Choice
//     goes on in the same poll; an await whose signal is already in the
//     mailbox takes it and goes on.
//  3. After max_steps_per_poll states it stops with kRunAgain (still READY);
//     after max_steps_without_suspending states in a row without truly
//     suspending it fails the task. A runtime error (a template variable not
//     set, adding to a string, an add that overflows to an infinity,
//     comparing unlike types, a limit) fails it too,
//     with the field path in error().
//
// Work: entering a work state renders its input and leaves the task WORKING
// on attempt 1 (kWork). Until CompleteWork or FailWork answers that attempt
// a poll changes nothing. FailWork retries by the state's rules: READY (no
// wait) or SLEEPING until the back-off ends; the poll after puts the next
// attempt out (kWork). The whole-task timeout (TaskDefinition.timeout)
// starts at the first poll; a poll at or after it fails the task, whatever
// its status; so a task with a timeout reads the clock on every poll.
//
// A signal counts for an await only if it arrived no later than the await's
// deadline; when both a signal and the deadline are due, the signal wins.
//
// Thread-safety: none. One thread at a time; MachineTask adds the locking.
class Machine {
 public:
  // A new task at the program's initial state, READY, with `inputs` as its
  // variables. INVALID_ARGUMENT for a bad input name, a value with no kind,
  // a NaN or infinite number (inside lists and objects too), lists and
  // objects nested too deep, inputs over max_variables / max_value_bytes,
  // and, when the definition declares inputs, a missing required input, an
  // input of the wrong type or one not declared (see ResolveInputs).
  // Declared inputs that are absent start with their defaults.
  static absl::StatusOr<Machine> Start(
      std::shared_ptr<const Program> program,
      const google::protobuf::Map<std::string, v1::Value>& inputs);
  // As above, with `options`.
  static absl::StatusOr<Machine> Start(
      std::shared_ptr<const Program> program,
      const google::protobuf::Map<std::string, v1::Value>& inputs,
      StartOptions options);
  // A new task with no inputs; never fails.
  static Machine Start(std::shared_ptr<const Program> program);

  // The task `snapshot` describes, which must have been taken from a task
  // running `program` (same definition name and version). INVALID_ARGUMENT
  // when it does not fit the program or is malformed.
  static absl::StatusOr<Machine> Restore(std::shared_ptr<const Program> program,
                                         const v1::TaskSnapshot& snapshot);

  Machine(Machine&&) = default;
  Machine& operator=(Machine&&) = default;

  // Runs the task as described above, at time `now`; each emitted chunk goes
  // to `sink` before Poll returns. Polling an ended task returns kEnded.
  PollOutcome Poll(TimeSource now, OutputSink sink);
  PollOutcome Poll(absl::Time now, OutputSink sink);
  PollOutcome Poll(absl::Time now);  // discards output

  // Accepts `signal` at time `now` into the mailbox; once the task has ended,
  // refuses any signal (kRefusedEnded). Otherwise INVALID_ARGUMENT for a bad
  // name or payload (too big, a NaN or too deep, a field that is no variable
  // name); RESOURCE_EXHAUSTED when the mailbox holds max_mailbox_signals.
  // Consumed means: the task is awaiting this name, no earlier signal would be
  // taken first, and the deadline has not passed, so its next poll takes this
  // signal.
  absl::StatusOr<WakeReceipt> Deliver(v1::Signal signal, absl::Time now);

  // A signal that passed CheckSignal, numbered and timed by its receiver.
  struct AcceptedSignal {
    v1::Signal signal;
    // PendingSignal.sequence and .received_at.
    uint64_t sequence;
    absl::Time received_at;
    // The payload's variables under the program's prefix (from
    // CheckSignal).
    PayloadVariables payload;
  };

  // What Deliver checks of the signal itself (name, payload size and
  // shape), with its errors; returns the payload's variables. Reads only the
  // program, so any thread may call it.
  static absl::StatusOr<PayloadVariables> CheckSignal(const Program& program,
                                                      const v1::Signal& signal);

  // Appends a checked signal to the mailbox whatever the task's status (an
  // ended task keeps it, accepted but never taken), for a receiver that
  // numbers and times signals itself (MachineTask).
  // REQUIRES: `sequence` above every earlier one, and `received_at` not
  // before theirs.
  void Accept(AcceptedSignal signal);

  // The consume-or-buffer rule, which Deliver and MachineTask::Wake both
  // answer by: a signal named `signal` arriving at `now` is kConsumed when
  //  1. the task is AWAITING and its await listens for `signal`,
  //  2. the await's deadline, if any, has not passed (a signal at the
  //     deadline counts), and
  //  3. no signal that arrived before it and is not yet taken (the mailbox,
  //     then `undelivered`: accepted for this task but not yet in the
  //     mailbox, as in MachineTask's inbox) is one the await listens for,
  //     since the earliest is taken first;
  // so the next poll takes it. Otherwise kBuffered. An ended task is not
  // asked: its signals are refused before this rule applies.
  WakeReceipt::Disposition SignalDisposition(
      absl::string_view signal, absl::Time now,
      const std::vector<AcceptedSignal>& undelivered) const;

  // Ends the task as CANCELLED with `reason` as its error, unless it has
  // ended already. Later signals are refused.
  void Cancel(std::string reason);

  // The order for the current attempt: set while WORKING, nullopt
  // otherwise.
  std::optional<WorkOrder> work_order() const;
  // The snapshot's WorkAttempt while in a work state (WORKING, or SLEEPING
  // or READY between two attempts); null otherwise, and once ended.
  const v1::WorkAttempt* work() const;

  // The worker completed attempt `attempt`. FAILED_PRECONDITION unless
  // WORKING on exactly that attempt; INVALID_ARGUMENT when the result breaks
  // the value limits (a NaN or infinity, too deep, over max_value_bytes or
  // the variables budget); either way nothing changes. OK: the result lands
  // whole in the work's resultVariable (if set), the task is READY at the
  // work's `next`, and the next poll enters it. The task's deadline is the
  // poll's to enforce, so `now` is not read.
  absl::Status CompleteWork(uint32_t attempt,
                            const google::protobuf::Value& result,
                            absl::Time now);
  // Checks a result as CompleteWork does, save the variables budget (which
  // depends on the task), from any thread; for MachineTask's early answer.
  static absl::Status CheckWorkResult(const Program& program,
                                      const google::protobuf::Value& result);

  // Attempt `attempt` failed at `now`. FAILED_PRECONDITION unless WORKING on
  // that attempt (nothing changes). Otherwise OK, and the first of:
  //  1. The first retry rule whose errors hold failure.error or "*", if the
  //     failure is retryable and attempt < its maxAttempts: the back-off
  //     w = min(interval * backoffRate^(attempt-1), maxInterval) (at most
  //     365 days), with full jitter a draw in [0, w] fixed by the task's
  //     random seed, the state and the attempt. w == 0: READY; w > 0:
  //     SLEEPING until now + w. Either way the next due poll puts attempt+1
  //     out (kWork); work() keeps the attempt and its last error meanwhile.
  //  2. The first catcher whose errors hold it or "*": its errorVariable (if
  //     set) := {"error": NAME, "message": TEXT}, READY at its `next`.
  //  3. The task FAILED, its error naming the state, the attempts and the
  //     failure.
  absl::Status FailWork(uint32_t attempt, WorkFailure failure, absl::Time now);

  // Ends the task as FAILED with `error` unless it has ended: for a host
  // that cannot do what the task asks (no work dispatcher).
  void Abort(std::string error);

  // The task's whole state; see v1::TaskSnapshot.
  v1::TaskSnapshot Snapshot() const;

  const Program& program() const { return *program_; }
  const std::shared_ptr<const Program>& shared_program() const {
    return program_;
  }
  v1::TaskStatus status() const { return status_; }
  bool ended() const;
  const std::string& state_name() const;
  // The current state's index in program().
  int state_index() const { return state_; }
  const Variables& variables() const;
  size_t mailbox_size() const { return mailbox().size(); }
  std::optional<absl::Time> deadline() const { return deadline_; }
  uint64_t output_sequence() const { return output_sequence_; }
  // Bytes of output emitted since the task started.
  uint64_t output_bytes() const { return output_bytes_; }
  // Sequence number of the last signal accepted (0: none yet).
  uint64_t signal_sequence() const { return signal_sequence_; }
  // When the whole-task timeout fails the task; set at the first poll.
  std::optional<absl::Time> task_deadline() const { return task_deadline_; }
  uint64_t random_seed() const { return random_seed_; }
  // Set when COMPLETED.
  const std::string& result() const;
  // Set when FAILED or CANCELLED.
  const std::string& error() const;

 private:
  // The time of one poll, read from its TimeSource on first use.
  class PollTime {
   public:
    explicit PollTime(TimeSource source) : source_(source) {}
    absl::Time operator()() {
      if (!now_.has_value()) now_ = source_();
      return *now_;
    }

   private:
    TimeSource source_;
    std::optional<absl::Time> now_;
  };

  explicit Machine(std::shared_ptr<const Program> program);

  // Start, and Restore's first half: `variables` as inputs, checked against
  // the definition's declarations only when `apply_declarations`.
  static absl::StatusOr<Machine> StartWith(
      std::shared_ptr<const Program> program,
      const google::protobuf::Map<std::string, v1::Value>& variables,
      bool apply_declarations);
  // Restore's work half: the snapshot's work, task deadline and seed.
  absl::Status RestoreWork(const v1::TaskSnapshot& snapshot);

  // Restore's second half: checks and accepts the snapshot's mailbox.
  absl::Status RestoreMailbox(const v1::TaskSnapshot& snapshot);

  // Leaves a due sleep, await or back-off; false when the task must keep
  // waiting (or failed), with `outcome` set.
  bool Resume(PollTime& now, PollOutcome* outcome);
  // Enters states until one suspends or ends, or the budget runs out.
  void RunSteps(PollTime& now, OutputSink sink, PollOutcome* outcome);
  // Runs the state's actions; false when one failed the task.
  bool RunActions(const Program::State& state, OutputSink sink,
                  PollOutcome* outcome);
  bool RunAction(const Program::Action& action, OutputSink sink,
                 std::string* error);
  // Runs the state's suspension; true when the task goes on in this poll.
  bool Suspend(const Program::State& state, PollTime& now,
               PollOutcome* outcome);
  // Ends the task by the state's complete or fail.
  void Finish(const Program::State& state, PollOutcome* outcome);
  // The target of the first branch that holds; -1 with `error` set when a
  // test cannot be evaluated.
  int Choose(const Program::State& state, std::string* error) const;
  // Takes the earliest pending signal the awaiting state listens for, lands
  // its payload and moves to its target; false when there is none (or the
  // task failed, with `outcome` set).
  bool TakeSignal(const Program::State& state, PollOutcome* outcome);
  bool SetVariable(const std::string& name, Value value, std::string* error);
  // Enters a work state: renders its input, puts attempt 1 out.
  void StartWork(const Program::State& state, PollTime& now,
                 PollOutcome* outcome);
  // Puts the next attempt of the current work out at `now`.
  void PutOutAttempt(absl::Time now, PollOutcome* outcome);
  // Fails the task when its deadline passed (setting it at the first poll);
  // false then.
  bool CheckTaskDeadline(PollTime& now, PollOutcome* outcome);
  // The back-off before the attempt after `attempt`, by `rule`.
  absl::Duration Backoff(const Program::Retry& rule, uint32_t attempt) const;
  // FailWork's end when no retry applies: catch, or fail the task.
  void EndWork(const Program::State& state, const WorkFailure& failure,
               uint32_t attempt);
  // FAILED_PRECONDITION unless WORKING on `attempt`.
  absl::Status CheckAnswerable(uint32_t attempt) const;
  void Fail(std::string error, PollOutcome* outcome);
  void Enter(int state);
  const Program::State& current() const { return program_->state(state_); }

  // What every poll reads comes first, to share as few cache lines as
  // possible: a poll of a task that only yields touches nothing below
  // `deadline_`.
  std::shared_ptr<const Program> program_;
  v1::TaskStatus status_ = v1::TASK_STATUS_READY;
  int state_ = 0;
  uint64_t steps_total_ = 0;
  uint64_t polls_ = 0;
  uint64_t steps_since_suspend_ = 0;
  uint64_t output_sequence_ = 0;
  uint64_t output_bytes_ = 0;
  std::optional<absl::Time> deadline_;
  uint64_t signal_sequence_ = 0;
  std::optional<absl::Time> task_deadline_;
  uint64_t random_seed_ = 0;
  // What a task holds beyond its position, allocated on first use: a task
  // without variables or signals stays small, and moving one is cheap.
  struct Holdings {
    Variables variables;
    // What `variables` hold, as max_variables_bytes counts it.
    size_t variables_bytes = 0;
    // Arrival order; a vector, because it is usually empty.
    std::vector<AcceptedSignal> mailbox;
    std::string result;
    std::string error;
    std::string scratch;  // reused to render templates
    // Set while in a work state (see work()); a unique_ptr, as it is
    // rarely there and far bigger than the pointer.
    std::unique_ptr<v1::WorkAttempt> work;
  };
  Holdings& holdings();
  const std::vector<AcceptedSignal>& mailbox() const;
  std::unique_ptr<Holdings> holdings_;
};

}  // namespace corosched::machine
