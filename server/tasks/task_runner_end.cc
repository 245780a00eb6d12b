// TaskRunner's ends: a requested cancel, a task's polls and its end, a task
// the executor drops, and forgetting a task once its end is stored. A
// cancel is answered only once the task's end is on disk.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/tasks/task_runner.h"  // IWYU pragma: associated

namespace corosched::server {

void TaskRunner::Cancel(const std::string& id, std::string reason,
                        CancelCallback done, Reach reach) {
  std::shared_ptr<LiveTask> live = FindCreated(id);
  if (live != nullptr && live->RequestCancel(reason, done)) {
    // Its worker, if it has one, hears of it at its next heartbeat.
    work_.RequestCancel(id);
    return;
  }
  if (reach == Reach::kAnyDaemon && routing_.cluster != nullptr) {
    CancelElsewhere(id, std::move(reason), std::move(done));
    return;
  }
  // Not live: ended, unknown, or not running here.
  store_.GetTaskAsync(id, [this, id, done = std::move(done)](
                              absl::StatusOr<TaskRecord> record) mutable {
    if (record.ok() && !record->finished_at.has_value()) {
      std::move(done)(NotRunning(id));
      return;
    }
    std::move(done)(std::move(record));
  });
}

void TaskRunner::RecordPoll(const std::shared_ptr<LiveTask>& live,
                            const machine::TaskEnd* end) {
  if (end == nullptr) {
    recorder_.RecordPoll(live, nullptr, nullptr);
    return;
  }
  if (metrics_ != nullptr) {
    metrics_->OnTaskFinished(end->status,
                             executor_.clock()->Now() - live->submitted_at());
  }
  recorder_.RecordPoll(live, end, [this, live](const absl::Status& stored) {
    Forget(*live, stored);
  });
}

void TaskRunner::RecordCancel(const std::shared_ptr<LiveTask>& live) {
  std::optional<std::string> reason = live->CancelToRecord();
  if (!reason.has_value()) {
    if (live->abandoned()) {
      // Worker answers waiting for a record that shows them taken will not
      // see one from this daemon: the task's new owner takes them again.
      TaskRecorder::FailExpectedAnswers(
          *live, absl::UnavailableError(
                     "the task moved to another daemon before the answer "
                     "was recorded; answer again"));
    }
    return;
  }
  if (metrics_ != nullptr) {
    metrics_->OnTaskFinished(v1::TASK_STATUS_CANCELLED,
                             executor_.clock()->Now() - live->submitted_at());
  }
  recorder_.RecordCancel(
      live, *reason,
      [this, live](const absl::Status& stored) { Forget(*live, stored); });
}

void TaskRunner::RecordDrop(const std::shared_ptr<LiveTask>& live) {
  // At shutdown the task stays as last recorded (see the class comment);
  // any other drop is a cancel, and a requested cancel is recorded even at
  // shutdown.
  switch (live->Dropped(shutting_down_.load())) {
    case LiveTask::Drop::kNothing:
      return;
    case LiveTask::Drop::kLeaveUnfinished:
      // A worker answer still waiting for a record that shows it taken
      // will not see one from this process. The task stays unfinished with
      // its lease recorded, so the worker answers again after the restart.
      // (An end's record resolves every waiter itself: the attempt is over.)
      TaskRecorder::FailExpectedAnswers(
          *live,
          absl::UnavailableError(
              "the daemon stopped running the task before the answer was "
              "recorded; answer again once it is back"));
      Forget(*live, absl::OkStatus());
      return;
    case LiveTask::Drop::kRecordCancel:
      RecordCancel(live);
      return;
  }
}

void TaskRunner::Forget(LiveTask& live, const absl::Status& stored) {
  // May run inside the task's record_mu (an in-memory store answers the
  // final write synchronously): nothing here may take it.
  std::vector<CancelCallback> waiters = live.Ended();
  {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(live.id());
    if (it != live_.end() && it->second.get() == &live) live_.erase(it);
  }
  if (!shutting_down_.load()) {
    // Ended: its queued item goes (the outcome finds no live task), and a
    // worker holding one hears at its next heartbeat that the task was
    // cancelled.
    work_.RequestCancel(live.id());
  }
  if (waiters.empty()) return;
  if (!stored.ok()) {
    const absl::Status unstored = absl::UnavailableError(absl::StrCat(
        "the task's end could not be stored (", stored.message(),
        "), so the cancel did not take effect; retry once the daemon is "
        "back"));
    for (CancelCallback& done : waiters) std::move(done)(unstored);
    return;
  }
  // A cancel is answered OK only once its end is on disk, with the task as
  // stored: read after the write, so the read sees it.
  store_.GetTaskAsync(live.id(),
                      [waiters = std::move(waiters)](
                          const absl::StatusOr<TaskRecord>& record) mutable {
                        for (CancelCallback& done : waiters) {
                          std::move(done)(record);
                        }
                      });
}

}  // namespace corosched::server
