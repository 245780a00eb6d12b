#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/machine/machine_task.h"
#include "core/time/clock.h"
#include "corosched/v1/scheduler.pb.h"
#include "server/store/task_store.h"
#include "server/tasks/live_task.h"
#include "server/tasks/stream_hub.h"

namespace corosched::server {

// An output event (sequence and time are set when it is recorded).
v1::TaskEvent OutputEvent(uint64_t sequence, absl::string_view text);
// A transition event into `state` with `status`.
v1::TaskEvent TransitionEvent(const std::string& state, v1::TaskStatus status);

// Writes what happened to a running task into the store, then tells the
// StreamHub so its watchers read it: per poll, the output the poll emitted,
// a transition when the state or status changed, and at the end the task's
// result; with each, the task's snapshot. It owns each task's
// TaskRecording (in its LiveTask): nothing else reads or writes it.
//
// A poll that changed nothing (an await that found no signal) writes
// nothing. A poll that yielded (the task runs again at once) is deferred
// instead: its events wait in the task and go out with the record of a
// later poll, so a run of yields costs one write, not one per state. A
// task has at most one progress write in flight: a poll to record while
// one is held back until it is answered, and the task is not polled
// meanwhile (RecordPendingPoll, RecordHeld). Events get the clock's time of
// the poll that made them. Writes are asynchronous
// (TaskStore::RecordProgressAsync): the hub hears of them, and `then`
// runs, once they are stored, possibly on the store's writer thread.
//
// Thread-safety: the methods taking a poll's outcome run on the task's own
// polling thread (the executor never polls one task twice at once), or
// from its future's destructor, when no poll runs; they take
// live.record_mu(), which also orders them against wakes that record
// snapshots.
class TaskRecorder {
 public:
  TaskRecorder(TaskStore& store, StreamHub& hub, const Clock& clock)
      : store_(store), hub_(hub), clock_(clock) {}

  // Gets the write's status: OK once it is stored.
  using Then = absl::AnyInvocable<void(const absl::Status& stored)>;

  // At most this many polls in a row are deferred, and at most this much
  // output; then a poll is recorded even though it yielded. This bounds
  // what a watcher waits for and what a crash makes a task repeat.
  static constexpr int kMaxDeferredPolls = 16;
  static constexpr size_t kMaxDeferredBytes = size_t{64} * 1024;

  // The task as the store holds it now (created or resumed): later polls
  // are recorded against it.
  static void Recorded(LiveTask& live, const v1::TaskSnapshot& snapshot)
      ABSL_LOCKS_EXCLUDED(live.record_mu());
  // The MachineTask's output sink: keeps a chunk of the poll in progress.
  static void AddOutput(LiveTask& live, uint64_t sequence,
                        absl::string_view text);

  // After a poll that left the task pending in `state` with `status`; with
  // `runs_again` when it yielded. Defers it, records it, or holds it back
  // while the task's last progress write is in flight (then the task is
  // woken once it is answered, and must call RecordHeld before it runs).
  void RecordPendingPoll(const std::shared_ptr<LiveTask>& live, bool runs_again,
                         const std::string& state, v1::TaskStatus status);
  // Whether a poll's record is held back (RecordPendingPoll).
  static bool HoldsRecord(const LiveTask& live) { return live.recording_.held; }
  // Records the held-back poll once no write of the task is in flight;
  // false (the task is woken later) while one still is.
  bool RecordHeld(const std::shared_ptr<LiveTask>& live);
  // Whether polls ran whose record has not been queued yet (deferred or
  // held): the future's destructor records them before the machine goes.
  static bool HasUnrecordedPolls(const LiveTask& live) {
    return live.recording_.deferred_polls > 0 || live.recording_.held;
  }

  // After a poll of the machine; `end` when it finished (completed or
  // failed). Takes the poll's output, and the events of deferred polls.
  // `then` (may be null) runs after the write, or at once (with OK) when
  // there is nothing to write; it runs even if the write fails, with the
  // store's error.
  void RecordPoll(const std::shared_ptr<LiveTask>& live,
                  const machine::TaskEnd* end, Then then)
      ABSL_LOCKS_EXCLUDED(live->record_mu());
  // --- Work (task_recorder_work.cc) ---

  // A worker leased attempt `attempt` of the task's work: records the lease
  // in the task's snapshot now (durably) and in every later one while the
  // attempt is current, so a restart takes the lease back. `then` gets the
  // write's status; OK at once, writing nothing, when the attempt is no
  // longer current.
  void RecordLease(const std::shared_ptr<LiveTask>& live, uint32_t attempt,
                   v1::WorkLeaseRecord lease, Then then)
      ABSL_LOCKS_EXCLUDED(live->record_mu());
  // A worker's answer to `attempt` is about to be handed to the task:
  // `done` gets OK once a stored snapshot shows the attempt over (the task
  // went on, retries, or ended); FAILED_PRECONDITION when the task was
  // cancelled first; the store's error if that write fails; UNAVAILABLE if
  // the task is dropped (daemon shutdown) before. Returns an id for
  // DropExpectedAnswer, for when the answer was refused after all.
  // `nonce` is the answer's token's.
  uint64_t ExpectAnswer(const std::shared_ptr<LiveTask>& live, uint32_t attempt,
                        absl::string_view nonce,
                        absl::AnyInvocable<void(const absl::Status&)> done)
      ABSL_LOCKS_EXCLUDED(live->record_mu());
  // Removes the waiter without calling it; false if it was answered.
  static bool DropExpectedAnswer(LiveTask& live, uint64_t id)
      ABSL_LOCKS_EXCLUDED(live.record_mu());
  // The task is gone without a record that ends its attempts (dropped at
  // shutdown): every waiting answer gets `status`.
  static void FailExpectedAnswers(LiveTask& live, const absl::Status& status)
      ABSL_LOCKS_EXCLUDED(live.record_mu());

  // A cancel took effect (the machine was dropped): CANCELLED with
  // `reason` as the error, after the events of deferred polls.
  void RecordCancel(const std::shared_ptr<LiveTask>& live,
                    const std::string& reason, Then then)
      ABSL_LOCKS_EXCLUDED(live->record_mu());

 private:
  // After a poll that yielded, in `state` with `status`: keeps the poll's
  // output, stamped, and a transition if the state or status changed, for
  // the next recorded poll, and returns true; or returns false, changing
  // nothing, once the bounds above are reached.
  bool DeferPoll(LiveTask& live, const std::string& state,
                 v1::TaskStatus status) ABSL_LOCKS_EXCLUDED(live.record_mu());
  // Adds the transition (before a final `finished` event), stamps the
  // events and queues the write; once it is stored, logs a failure,
  // publishes and runs `then`.
  void WriteProgress(const std::shared_ptr<LiveTask>& live,
                     TaskProgress progress, Then then)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(live->record_mu());

  // Work bookkeeping of a record about to be written: copies the current
  // attempt's lease into its snapshot, notes its attempt, and chains to
  // `then` the lease's worker and the answer waiters it satisfies, making
  // the write durable for them (each was answered OK once it is on disk).
  static void PrepareWorkRecord(LiveTask& live, TaskProgress& progress,
                                Then& then)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(live.record_mu());

  // The task's work bookkeeping, made on first use.
  static TaskRecording::Work& WorkOf(LiveTask& live)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(live.record_mu());

  // Gives the events at the end of `events` that have no time yet `now`.
  static void StampNewEvents(std::vector<v1::TaskEvent>& events,
                             absl::Time now);
  // Moves out the events not yet recorded, and resets the deferred counts
  // and the hold.
  static std::vector<v1::TaskEvent> TakeUnrecorded(LiveTask& live);

  TaskStore& store_;
  StreamHub& hub_;
  const Clock& clock_;
};

}  // namespace corosched::server
