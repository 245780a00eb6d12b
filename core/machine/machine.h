#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

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
    // Pending: poll again at `deadline` (a sleep or an await timeout) or,
    // when awaiting, once a signal is delivered. No deadline: only a signal.
    kWait,
    // Ready: the task ended; Machine::status() says how.
    kEnded,
  };
  Next next = Next::kWait;
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
};

// Receives each emitted chunk of output, in order, during Poll.
using OutputSink =
    absl::FunctionRef<void(uint64_t sequence, absl::string_view text)>;

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
//     (kRunAgain), sleep or await (kWait), complete or fail (kEnded). Choice
//     goes on in the same poll; an await whose signal is already in the
//     mailbox takes it and goes on.
//  3. After max_steps_per_poll states it stops with kRunAgain (still READY);
//     after max_steps_without_suspending states in a row without truly
//     suspending it fails the task. A runtime error (a template variable not
//     set, adding to a string, comparing unlike types, a limit) fails it too,
//     with the field path in error().
//
// A signal counts for an await only if it arrived no later than the await's
// deadline; when both a signal and the deadline are due, the signal wins.
//
// Thread-safety: none. One thread at a time; MachineTask adds the locking.
class Machine {
 public:
  // A new task at the program's initial state, READY, with `inputs` as its
  // variables. INVALID_ARGUMENT for a bad input name, a value with no kind,
  // or inputs over max_variables / max_value_bytes.
  static absl::StatusOr<Machine> Start(
      std::shared_ptr<const Program> program,
      const google::protobuf::Map<std::string, v1::Value>& inputs = {});

  // The task `snapshot` describes, which must have been taken from a task
  // running `program` (same definition name and version). INVALID_ARGUMENT
  // when it does not fit the program or is malformed.
  static absl::StatusOr<Machine> Restore(std::shared_ptr<const Program> program,
                                         const v1::TaskSnapshot& snapshot);

  Machine(Machine&&) = default;
  Machine& operator=(Machine&&) = default;

  // Runs the task as described above, at time `now`; each emitted chunk goes
  // to `sink` before Poll returns. Polling an ended task returns kEnded.
  PollOutcome Poll(absl::Time now, OutputSink sink);
  PollOutcome Poll(absl::Time now);  // discards output

  // Accepts `signal` at time `now` into the mailbox; once the task has ended,
  // refuses any signal (kRefusedEnded). Otherwise INVALID_ARGUMENT for a bad
  // name or payload (too big, a list or null, a field that is no variable
  // name); RESOURCE_EXHAUSTED when the mailbox holds max_mailbox_signals.
  // Consumed means: the task is awaiting this name, no earlier signal would be
  // taken first, and the deadline has not passed, so its next poll takes this
  // signal.
  absl::StatusOr<WakeReceipt> Deliver(v1::Signal signal, absl::Time now);

  // Ends the task as CANCELLED with `reason` as its error, unless it has
  // ended already. Later signals are refused.
  void Cancel(std::string reason);

  // The task's whole state; see v1::TaskSnapshot.
  v1::TaskSnapshot Snapshot() const;

  const Program& program() const { return *program_; }
  v1::TaskStatus status() const { return status_; }
  bool ended() const;
  const std::string& state_name() const;
  const Variables& variables() const { return variables_; }
  size_t mailbox_size() const { return mailbox_.size(); }
  std::optional<absl::Time> deadline() const { return deadline_; }
  uint64_t output_sequence() const { return output_sequence_; }
  // Set when COMPLETED.
  const std::string& result() const { return result_; }
  // Set when FAILED or CANCELLED.
  const std::string& error() const { return error_; }

 private:
  struct PendingSignal {
    v1::Signal signal;
    uint64_t sequence;
    absl::Time received_at;
    PayloadVariables payload;  // signal.payload, flattened under the prefix
  };

  explicit Machine(std::shared_ptr<const Program> program);

  // Leaves a due sleep or await; false when the task must keep waiting (or
  // failed), with `outcome` set.
  bool Resume(absl::Time now, PollOutcome* outcome);
  // Enters states until one suspends or ends, or the budget runs out.
  void RunSteps(absl::Time now, OutputSink sink, PollOutcome* outcome);
  // Runs the state's actions; false when one failed the task.
  bool RunActions(const Program::State& state, OutputSink sink,
                  PollOutcome* outcome);
  bool RunAction(const Program::Action& action, OutputSink sink,
                 std::string* error);
  // Runs the state's suspension; true when the task goes on in this poll.
  bool Suspend(const Program::State& state, absl::Time now,
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
  void Fail(std::string error, PollOutcome* outcome);
  void Enter(int state);
  const Program::State& current() const { return program_->state(state_); }

  std::shared_ptr<const Program> program_;
  v1::TaskStatus status_ = v1::TASK_STATUS_READY;
  int state_ = 0;
  Variables variables_;
  std::deque<PendingSignal> mailbox_;
  std::optional<absl::Time> deadline_;
  uint64_t output_sequence_ = 0;
  uint64_t signal_sequence_ = 0;
  uint64_t steps_total_ = 0;
  uint64_t polls_ = 0;
  uint64_t steps_since_suspend_ = 0;
  std::string result_;
  std::string error_;
  std::string scratch_;  // reused to render templates
};

}  // namespace corosched::machine
