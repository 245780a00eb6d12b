// TaskRunner's part in handing a task whose work item waits here to a
// daemon whose workers wait for it (WorkRouter, docs/scale-out.md).

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "server/tasks/task_runner.h"  // IWYU pragma: associated
#include "server/work/work_token.h"

namespace corosched::server {

bool TaskRunner::HandOver(const std::string& id,
                          absl::FunctionRef<void()> hand_over) {
  std::shared_ptr<LiveTask> live = FindCreated(id);
  if (live == nullptr) return false;
  // Under record_mu no poll of the task is recorded and no wake stored, so
  // what the store holds (or has queued) for it cannot change until the
  // handover is queued behind it.
  absl::MutexLock record(&live->record_mu());
  // A poll whose record is deferred or held would be lost with the task:
  // the next owner would run it again. Left for a later round.
  if (TaskRecorder::HasUnrecordedPolls(*live)) return false;
  // A worker that leased the item first keeps it, and the task stays.
  if (!work_.Withdraw(id).has_value()) return false;
  {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(id);
    // Abandoned meanwhile (its lease was lost): nothing to hand over.
    if (it == live_.end() || it->second != live) return false;
    live_.erase(it);
  }
  AbandonLive(*live);
  hand_over();
  return true;
}

void TaskRunner::AnswerRefusedToken(const std::string& token,
                                    absl::Status refused,
                                    WorkAnswerCallback done) {
  absl::StatusOr<WorkToken> decoded = WorkToken::Decode(token);
  // Only "no current lease here" may mean "a lease elsewhere"; an answer
  // already taken here is said so as it is.
  if (routing_.cluster == nullptr || !decoded.ok() ||
      !absl::IsFailedPrecondition(refused) ||
      refused.GetPayload(WorkQueues::kAlreadyAcceptedPayload).has_value() ||
      IsLive(decoded->task_id)) {
    std::move(done)(std::move(refused));
    return;
  }
  const std::string id = decoded->task_id;
  store_.GetTaskAsync(
      id, [id, refused = std::move(refused),
           done = std::move(done)](absl::StatusOr<TaskRecord> task) mutable {
        if (!task.ok() || task->finished_at.has_value()) {
          std::move(done)(std::move(refused));
          return;
        }
        std::move(done)(absl::UnavailableError(absl::StrCat(
            "the lease of this work item is held by another daemon: task ",
            QuoteInput(id),
            " runs on another daemon of the cluster now (it moved after "
            "this daemon handed the item out, or its daemon failed), which "
            "took the lease over; retry through an address that reaches "
            "that daemon (the cluster's shared address does)")));
      });
}

}  // namespace corosched::server
