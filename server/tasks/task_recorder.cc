#include "server/tasks/task_recorder.h"

#include <utility>

#include "core/machine/proto_time.h"
#include "server/daemon/logging.h"
#include "server/store/cluster_store.h"
#include "spdlog/spdlog.h"

namespace corosched::server {

v1::TaskEvent OutputEvent(uint64_t sequence, absl::string_view text) {
  v1::TaskEvent event;
  v1::OutputChunk* output = event.mutable_output();
  output->set_sequence(sequence);
  output->set_text(text.data(), text.size());
  return event;
}

v1::TaskEvent TransitionEvent(const std::string& state, v1::TaskStatus status) {
  v1::TaskEvent event;
  event.mutable_transition()->set_state(state);
  event.mutable_transition()->set_status(status);
  return event;
}

void TaskRecorder::Recorded(LiveTask& live, const v1::TaskSnapshot& snapshot) {
  absl::MutexLock lock(&live.record_mu());
  live.recording_.last_status = snapshot.status();
  live.recording_.last_state = snapshot.state();
  live.recording_.last_steps = snapshot.steps().total();
  live.recording_.last_work_attempt = snapshot.work().attempt();
  if (snapshot.work().has_lease()) {
    TaskRecording::Work& work = TaskRecorder::WorkOf(live);
    work.lease_attempt = snapshot.work().attempt();
    work.lease_steps = snapshot.steps().total();
    work.lease = snapshot.work().lease();
  }
}

void TaskRecorder::AddOutput(LiveTask& live, uint64_t sequence,
                             absl::string_view text) {
  live.recording_.unrecorded.push_back(OutputEvent(sequence, text));
}

void TaskRecorder::RecordPendingPoll(const std::shared_ptr<LiveTask>& live,
                                     bool runs_again, const std::string& state,
                                     v1::TaskStatus status) {
  if (runs_again && DeferPoll(*live, state, status)) return;
  if (live->WaitForProgressWrite()) {
    live->recording_.held = true;  // woken once the write is answered
  } else {
    RecordPoll(live, nullptr, nullptr);
  }
}

bool TaskRecorder::RecordHeld(const std::shared_ptr<LiveTask>& live) {
  if (live->WaitForProgressWrite()) return false;
  live->recording_.held = false;
  RecordPoll(live, nullptr, nullptr);
  return true;
}

bool TaskRecorder::DeferPoll(LiveTask& live, const std::string& state,
                             v1::TaskStatus status) {
  size_t bytes = live.recording_.deferred_bytes;
  for (auto it = live.recording_.unrecorded.rbegin();
       it != live.recording_.unrecorded.rend() && !it->has_time(); ++it) {
    if (it->has_output()) bytes += it->output().text().size();
  }
  if (live.recording_.deferred_polls >= kMaxDeferredPolls ||
      bytes > kMaxDeferredBytes) {
    return false;
  }
  ++live.recording_.deferred_polls;
  live.recording_.deferred_bytes = bytes;
  {
    absl::MutexLock lock(&live.record_mu());
    if (status != live.recording_.last_status ||
        state != live.recording_.last_state) {
      live.recording_.last_status = status;
      live.recording_.last_state = state;
      live.recording_.unrecorded.push_back(TransitionEvent(state, status));
    }
  }
  StampNewEvents(live.recording_.unrecorded, clock_.Now());
  return true;
}

void TaskRecorder::StampNewEvents(std::vector<v1::TaskEvent>& events,
                                  absl::Time now) {
  // The unstamped events are the last ones: those of the poll just ended.
  auto first_new = events.end();
  while (first_new != events.begin() && !(first_new - 1)->has_time()) {
    --first_new;
  }
  if (first_new == events.end()) return;
  const google::protobuf::Timestamp time = machine::ToProtoTimestamp(now);
  for (auto it = first_new; it != events.end(); ++it) {
    *it->mutable_time() = time;
  }
}

std::vector<v1::TaskEvent> TaskRecorder::TakeUnrecorded(LiveTask& live) {
  std::vector<v1::TaskEvent> events = std::move(live.recording_.unrecorded);
  live.recording_.unrecorded.clear();
  live.recording_.deferred_polls = 0;
  live.recording_.deferred_bytes = 0;
  live.recording_.held = false;
  return events;
}

void TaskRecorder::RecordPoll(const std::shared_ptr<LiveTask>& live,
                              const machine::TaskEnd* end, Then then) {
  TaskProgress progress;
  progress.events = TakeUnrecorded(*live);
  absl::MutexLock lock(&live->record_mu());
  progress.snapshot = live->task().Snapshot();
  if (end == nullptr && progress.events.empty() &&
      progress.snapshot.steps().total() == live->recording_.last_steps &&
      progress.snapshot.status() == live->recording_.last_status &&
      progress.snapshot.work().attempt() ==
          live->recording_.last_work_attempt) {
    // e.g. an await that found no signal: nothing to record
    if (then) then(absl::OkStatus());
    return;
  }
  if (end != nullptr) {
    // A cancel that waits for this end is answered once it is on disk.
    progress.durable = live->cancel_requested();
    v1::TaskResult* result = progress.events.emplace_back().mutable_finished();
    result->set_status(end->status);
    result->set_result(end->result);
    result->set_error(end->error);
  }
  WriteProgress(live, std::move(progress), std::move(then));
}

void TaskRecorder::RecordCancel(const std::shared_ptr<LiveTask>& live,
                                const std::string& reason, Then then) {
  TaskProgress progress;
  progress.events = TakeUnrecorded(*live);
  absl::MutexLock lock(&live->record_mu());
  progress.snapshot = live->task().Snapshot();
  progress.snapshot.set_status(v1::TASK_STATUS_CANCELLED);
  progress.snapshot.set_error(reason);
  progress.durable = true;  // its requester is answered once it is stored
  v1::TaskResult* result = progress.events.emplace_back().mutable_finished();
  result->set_status(v1::TASK_STATUS_CANCELLED);
  result->set_error(reason);
  WriteProgress(live, std::move(progress), std::move(then));
}

void TaskRecorder::WriteProgress(const std::shared_ptr<LiveTask>& live,
                                 TaskProgress progress, Then then) {
  if (live->abandoned()) {
    // Its lease was lost: another daemon may run it now, and nothing of
    // this one's is recorded any more (the store's fencing would refuse it
    // too, unless this daemon has claimed the task again since).
    if (then) then(LeaseLostError(live->id()));
    return;
  }
  const absl::Time now = clock_.Now();
  PrepareWorkRecord(*live, progress, then);
  const v1::TaskSnapshot& snapshot = progress.snapshot;
  const bool finished =
      !progress.events.empty() && progress.events.back().has_finished();
  if (snapshot.status() != live->recording_.last_status ||
      snapshot.state() != live->recording_.last_state) {
    live->recording_.last_status = snapshot.status();
    live->recording_.last_state = snapshot.state();
    // Before the `finished` event, which is always last.
    auto at = finished ? progress.events.end() - 1 : progress.events.end();
    progress.events.insert(
        at, TransitionEvent(snapshot.state(), snapshot.status()));
  }
  live->recording_.last_steps = snapshot.steps().total();
  if (finished) progress.finished_at = now;
  StampNewEvents(progress.events, now);  // a deferred poll's have their time
  // Queued under record_mu: the store gets this task's writes in order.
  live->ProgressQueued();
  store_.RecordProgressAsync(
      live->id(), std::move(progress),
      [this, live, then = std::move(then)](
          const absl::StatusOr<uint64_t>& written) mutable {
        if (!written.ok()) {
          spdlog::error("event=store_error op=record_progress task={} {}",
                        LogValue(live->id()), LogStatus(written.status()));
        }
        live->ProgressStored();
        hub_.Publish(live->id());
        if (then) then(written.status());
      });
}

}  // namespace corosched::server
