// TaskRecorder's part in work dispatch: leases recorded in the task's
// snapshot, and worker answers acknowledged only once their effect is
// stored.

#include <memory>
#include <utility>
#include <vector>

#include "server/tasks/task_recorder.h"  // IWYU pragma: associated

namespace corosched::server {
namespace {

// Whether a snapshot shows attempt `attempt` of the work entered at step
// `steps` over. The step count tells two entries of work states apart, whose
// attempts both count from 1: it grows with every state entered, and not
// while the task is WORKING.
bool AttemptOver(const v1::TaskSnapshot& snapshot, uint32_t attempt,
                 uint64_t steps) {
  return snapshot.status() != v1::TASK_STATUS_WORKING ||
         snapshot.work().attempt() != attempt ||
         snapshot.steps().total() != steps;
}

}  // namespace

TaskRecording::Work& TaskRecorder::WorkOf(LiveTask& live) {
  std::unique_ptr<TaskRecording::Work>& work = live.recording_.work;
  if (work == nullptr) work = std::make_unique<TaskRecording::Work>();
  return *work;
}

void TaskRecorder::PrepareWorkRecord(LiveTask& live, TaskProgress& progress,
                                     Then& then) {
  v1::TaskSnapshot& snapshot = progress.snapshot;
  live.recording_.last_work_attempt = snapshot.work().attempt();
  if (live.recording_.work == nullptr) return;
  TaskRecording::Work& recording = *live.recording_.work;
  if (recording.lease_attempt != 0 &&
      !AttemptOver(snapshot, recording.lease_attempt, recording.lease_steps)) {
    *snapshot.mutable_work()->mutable_lease() = recording.lease;
    if (recording.lease_written) {
      progress.durable = true;  // its worker hears of the lease after this
      then = [then = std::move(then),
              leased = std::move(recording.lease_written)](
                 const absl::Status& stored) mutable {
        leased(stored);
        if (then) then(stored);
      };
      recording.lease_written = nullptr;
    }
  } else if (recording.lease_written) {
    // The attempt ended before its lease was recorded: the token is
    // refused anyway, so the worker may hear of it.
    Then leased = std::move(recording.lease_written);
    recording.lease_written = nullptr;
    then = [then = std::move(then),
            leased = std::move(leased)](const absl::Status& stored) mutable {
      leased(stored);
      if (then) then(stored);
    };
  }
  if (recording.answer_waiters.empty()) return;
  std::vector<TaskRecording::Work::AnswerWaiter> satisfied;
  auto& waiters = recording.answer_waiters;
  for (auto it = waiters.begin(); it != waiters.end();) {
    if (AttemptOver(snapshot, it->attempt, it->steps)) {
      satisfied.push_back(std::move(*it));
      it = waiters.erase(it);
    } else {
      ++it;
    }
  }
  if (satisfied.empty()) return;
  progress.durable = true;  // the answers are OK once this is on disk
  const bool cancelled = snapshot.status() == v1::TASK_STATUS_CANCELLED;
  then = [then = std::move(then), satisfied = std::move(satisfied),
          cancelled](const absl::Status& stored) mutable {
    absl::Status answer = stored;
    if (stored.ok() && cancelled) {
      answer = absl::FailedPreconditionError(
          "the task was cancelled before the work's answer was recorded");
    }
    for (TaskRecording::Work::AnswerWaiter& waiter : satisfied) {
      std::move(waiter.done)(answer);
    }
    if (then) then(stored);
  };
}

void TaskRecorder::RecordLease(const std::shared_ptr<LiveTask>& live,
                               uint32_t attempt, v1::WorkLeaseRecord lease,
                               Then then) {
  {
    absl::MutexLock lock(&live->record_mu());
    TaskProgress progress;
    progress.snapshot = live->task().Snapshot();
    // While the lease's attempt is current the task stays WORKING and
    // takes no steps, so the step count now is the one of its entry.
    const uint64_t steps = progress.snapshot.steps().total();
    if (!AttemptOver(progress.snapshot, attempt, steps)) {
      TaskRecording::Work& recording = WorkOf(*live);
      recording.lease_attempt = attempt;
      recording.lease_steps = steps;
      recording.lease = std::move(lease);
      if (live->recording_.last_status != v1::TASK_STATUS_WORKING ||
          live->recording_.last_work_attempt != attempt ||
          live->recording_.last_steps != steps) {
        // The poll that put the attempt out is not recorded yet; its record
        // is on its way and carries the lease (written now, it would put
        // the transition before that poll's output).
        recording.lease_written = std::move(then);
        return;
      }
      // The worker is answered once this is on disk.
      progress.durable = true;
      WriteProgress(live, std::move(progress), std::move(then));
      return;
    }
  }
  // Answered or ended already: the lease's token is refused anyway.
  if (then) then(absl::OkStatus());
}

uint64_t TaskRecorder::ExpectAnswer(
    const std::shared_ptr<LiveTask>& live, uint32_t attempt,
    absl::string_view nonce,
    absl::AnyInvocable<void(const absl::Status&)> done) {
  absl::MutexLock lock(&live->record_mu());
  TaskRecording::Work& work = WorkOf(*live);
  // The answer's lease is the recorded one (it was recorded before its
  // worker had the token), unless it is stale: then WorkQueues refuses
  // the answer and the waiter is dropped, whatever it waits for.
  const uint64_t steps =
      work.lease_attempt == attempt && work.lease.nonce() == nonce
          ? work.lease_steps
          : live->task().Snapshot().steps().total();
  const uint64_t id = work.next_waiter_id++;
  work.answer_waiters.push_back(
      TaskRecording::Work::AnswerWaiter{id, attempt, steps, std::move(done)});
  return id;
}

bool TaskRecorder::DropExpectedAnswer(LiveTask& live, uint64_t id) {
  absl::MutexLock lock(&live.record_mu());
  if (live.recording_.work == nullptr) return false;
  auto& waiters = live.recording_.work->answer_waiters;
  for (auto it = waiters.begin(); it != waiters.end(); ++it) {
    if (it->id == id) {
      waiters.erase(it);
      return true;
    }
  }
  return false;
}

void TaskRecorder::FailExpectedAnswers(LiveTask& live,
                                       const absl::Status& status) {
  std::vector<TaskRecording::Work::AnswerWaiter> waiters;
  Then leased;
  {
    absl::MutexLock lock(&live.record_mu());
    if (live.recording_.work == nullptr) return;
    waiters.swap(live.recording_.work->answer_waiters);
    leased = std::move(live.recording_.work->lease_written);
    live.recording_.work->lease_written = nullptr;
  }
  if (leased) leased(status);
  for (TaskRecording::Work::AnswerWaiter& waiter : waiters) {
    std::move(waiter.done)(status);
  }
}

}  // namespace corosched::server
