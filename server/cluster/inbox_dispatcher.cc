#include "server/cluster/inbox_dispatcher.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/daemon/logging.h"
#include "spdlog/spdlog.h"

namespace corosched::server {

bool InboxDispatcher::IsFinalAnswer(const absl::Status& answer) {
  // The task moved on: the message is for its next owner.
  if (IsLeaseLost(answer)) return false;
  switch (answer.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kFailedPrecondition:  // ended
    case absl::StatusCode::kInvalidArgument:     // a signal it never takes
    case absl::StatusCode::kNotFound:            // no such task any more
      return true;
    default:  // UNAVAILABLE above all: not live here (yet), the store down
      return false;
  }
}

absl::Status InboxDispatcher::Deliver(const std::string& task_id) {
  absl::StatusOr<std::vector<InboxMessage>> messages =
      store_.ReadInbox(task_id);
  if (!messages.ok()) return messages.status();
  for (InboxMessage& message : *messages) {
    {
      absl::MutexLock lock(&mu_);
      if (!applying_.insert(message.id).second) continue;
    }
    Apply(std::move(message));
  }
  return absl::OkStatus();
}

absl::Status InboxDispatcher::DeliverAll() {
  absl::StatusOr<std::vector<std::string>> tasks = store_.TasksWithInbox();
  if (!tasks.ok()) return tasks.status();
  absl::Status first_error;
  for (const std::string& task_id : *tasks) {
    absl::Status delivered = Deliver(task_id);
    if (first_error.ok()) first_error = delivered;
  }
  return first_error;
}

void InboxDispatcher::Apply(InboxMessage message) {
  const int64_t id = message.id;
  auto done = [this, id](absl::Status answer) { Applied(id, answer); };
  if (message.kind == InboxMessage::Kind::kCancel) {
    calls_.cancel(message.task_id, std::move(message.reason), std::move(done));
    return;
  }
  const std::string request_id = message.request_id.empty()
                                     ? absl::StrCat("inbox:", id)
                                     : std::move(message.request_id);
  calls_.wake(message.task_id, std::move(message.signal), request_id,
              std::move(done));
}

void InboxDispatcher::Applied(int64_t id, const absl::Status& answer) {
  if (!IsFinalAnswer(answer)) {
    spdlog::debug("event=inbox_message_kept message={} {}", id,
                  LogStatus(answer));
    absl::MutexLock lock(&mu_);
    applying_.erase(id);  // the next delivery tries again
    return;
  }
  if (metrics_ != nullptr) metrics_->OnInboxDelivered();
  store_.DeleteInboxAsync({id}, [this, id](absl::Status deleted) {
    if (!deleted.ok()) {
      // Applied again later, and answered as a duplicate then.
      spdlog::warn("event=inbox_delete_failed message={} {}", id,
                   LogStatus(deleted));
    }
    absl::MutexLock lock(&mu_);
    applying_.erase(id);
  });
}

}  // namespace corosched::server
