// TaskRunner's side of scale-out (docs/scale-out.md): a cancel of a task
// another daemon runs, and tasks dropped because their lease was lost.

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "server/tasks/task_runner.h"  // IWYU pragma: associated

namespace corosched::server {
namespace {

// The first read of a remote cancel comes after this; each later one after
// twice the pause before it, up to kLongestPause.
constexpr absl::Duration kFirstPause = absl::Milliseconds(20);
constexpr absl::Duration kLongestPause = absl::Milliseconds(500);

absl::Status CancelQueued(const std::string& id) {
  return absl::UnavailableError(absl::StrCat(
      "the cancel of task ", QuoteInput(id),
      " is queued for the daemon that runs it and applies when it does; "
      "the task has not ended yet (retrying is safe)"));
}

}  // namespace

void TaskRunner::CancelElsewhere(const std::string& id, std::string reason,
                                 CancelCallback done) {
  InboxMessage message;
  message.task_id = id;
  message.kind = InboxMessage::Kind::kCancel;
  message.reason = std::move(reason);
  routing_.cluster->EnqueueInboxAsync(
      std::move(message), [this, id, done = std::move(done)](
                              absl::StatusOr<InboxReceipt> queued) mutable {
        if (queued.ok()) {
          AwaitEndElsewhere(id, executor_.clock()->Now() + routing_.cancel_wait,
                            kFirstPause, std::move(done));
        } else if (absl::IsFailedPrecondition(queued.status())) {
          // Ended: a cancel of an ended task answers with it as stored.
          store_.GetTaskAsync(id, [done = std::move(done)](
                                      absl::StatusOr<TaskRecord> task) mutable {
            std::move(done)(std::move(task));
          });
        } else {
          std::move(done)(queued.status());
        }
      });
}

void TaskRunner::AwaitEndElsewhere(const std::string& id, absl::Time deadline,
                                   absl::Duration delay, CancelCallback done) {
  routing_.timer->After(delay, [this, id, deadline, delay,
                                done = std::move(done)](bool due) mutable {
    if (!due) {  // the daemon is stopping
      std::move(done)(CancelQueued(id));
      return;
    }
    store_.GetTaskAsync(id, [this, id, deadline, delay, done = std::move(done)](
                                absl::StatusOr<TaskRecord> record) mutable {
      if (!record.ok() || record->finished_at.has_value()) {
        std::move(done)(std::move(record));
        return;
      }
      const absl::Duration next = std::min(delay * 2, kLongestPause);
      if (executor_.clock()->Now() + next > deadline) {
        std::move(done)(CancelQueued(id));
        return;
      }
      AwaitEndElsewhere(id, deadline, next, std::move(done));
    });
  });
}

bool TaskRunner::IsLive(const std::string& id) {
  absl::MutexLock lock(&mu_);
  return live_.contains(id);
}

void TaskRunner::Abandon(const std::string& id) {
  std::shared_ptr<LiveTask> live;
  {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    live = std::move(it->second);  // keeps the key's LiveTask alive
    live_.erase(it);
  }
  AbandonLive(*live);
}

size_t TaskRunner::AbandonAll() {
  std::vector<std::shared_ptr<LiveTask>> all;
  {
    absl::MutexLock lock(&mu_);
    all.reserve(live_.size());
    for (auto& entry : live_) all.push_back(std::move(entry.second));
    live_.clear();
  }
  for (const std::shared_ptr<LiveTask>& live : all) AbandonLive(*live);
  return all.size();
}

void TaskRunner::AbandonLive(LiveTask& live) {
  std::vector<CancelCallback> waiters = live.Abandon();
  // Its queued attempt goes, and its outcome finds no live task; a worker
  // holding one hears at its next heartbeat that it is no longer wanted
  // here (the new owner puts the attempt out again).
  work_.RequestCancel(live.id());
  if (waiters.empty()) return;
  const absl::Status moved = absl::UnavailableError(absl::StrCat(
      "task ", QuoteInput(live.id()),
      " moved to another daemon before the cancel was recorded; retry, and "
      "the cancel reaches it there"));
  for (CancelCallback& done : waiters) std::move(done)(moved);
}

}  // namespace corosched::server
