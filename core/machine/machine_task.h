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
// after the poll that emitted it and outside every lock. It may call
// MachineTask::Wake, including on its own task.
using OutputCallback =
    absl::AnyInvocable<void(uint64_t sequence, absl::string_view text)>;

class MachineFuture;

// A Machine running as a task on the executor: the shared state between the
// task's future (polled by the executor) and outside code that delivers wake
// signals, reads snapshots, or waits for it.
//
//   auto spawned = SpawnMachine(*executor, std::move(machine), on_output);
//   spawned->task->Wake(signal);             // any thread
//   TaskEnd end = *std::move(spawned->handle).Wait();
//
// Races, and why no wake is lost (mu_ orders every step below):
//  1. Wake before the task reaches its await: Deliver buffers the signal;
//     the poll that enters the await finds it in the mailbox and takes it.
//  2. Wake while the task awaits it: Deliver answers kConsumed, and Wake
//     wakes the Waker that poll stored, after releasing mu_; the executor
//     polls once more and the machine takes the signal.
//  3. Wake during a poll: it waits for mu_, so it is case 1 or 2 with the
//     machine's state as that poll left it.
//  4. Wake after the task ended, or after its future was dropped (cancelled
//     or shut down, which cancels the machine): refused, kRefusedEnded.
//
// Thread-safety: every method may be called from any thread.
class MachineTask : public std::enable_shared_from_this<MachineTask> {
 public:
  // Use SpawnMachine, or Create with MakeFuture to spawn it yourself.
  static std::shared_ptr<MachineTask> Create(Machine machine,
                                             TimerDriver* timers,
                                             OutputCallback on_output = {});

  // The future that runs this task. REQUIRES: called at most once.
  MachineFuture MakeFuture();

  // Delivers a wake signal at the clock's current time; see
  // Machine::Deliver for the receipt and the errors.
  absl::StatusOr<WakeReceipt> Wake(v1::Signal signal) ABSL_LOCKS_EXCLUDED(mu_);

  // The whole state as of the last poll (never mid-poll).
  v1::TaskSnapshot Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  v1::TaskStatus status() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class MachineFuture;

  MachineTask(Machine machine, TimerDriver* timers, OutputCallback on_output)
      : machine_(std::move(machine)),
        timers_(timers),
        on_output_(std::move(on_output)) {}

  mutable absl::Mutex mu_;
  Machine machine_ ABSL_GUARDED_BY(mu_);
  // The task's Waker from its latest poll; empty before the first.
  Waker waker_ ABSL_GUARDED_BY(mu_);
  TimerDriver* const timers_;
  // Called only from MachineFuture::Poll, which the executor never runs
  // twice at once for one task.
  OutputCallback on_output_;
};

// The Future that runs a MachineTask: each poll runs Machine::Poll with the
// timer driver's clock, then re-wakes itself (yield, step budget), arms a
// timer (sleep, await timeout) or finishes. Dropping it before the task
// ended cancels the machine, so later wakes are refused.
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
  explicit MachineFuture(std::shared_ptr<MachineTask> task)
      : task_(std::move(task)) {}

  // Sends the output collected during the last poll to the callback.
  void DeliverOutput();

  std::shared_ptr<MachineTask> task_;
  // The timer for the current deadline, if any.
  std::optional<Sleep> sleep_;
  // Output of one poll, sent after mu_ is released: texts concatenated in
  // `output_text_`, with each chunk's sequence number and end offset.
  std::string output_text_;
  std::vector<std::pair<uint64_t, size_t>> output_chunks_;
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
