#include "server/store/testing/fake_cluster_store.h"

#include "absl/strings/str_cat.h"

namespace corosched::server {
namespace {

absl::Status Unreachable() {
  return absl::UnavailableError("the database cannot be reached (test)");
}

}  // namespace

void FakeClusterDatabase::SetReachable(bool reachable) {
  absl::MutexLock lock(&mu_);
  reachable_ = reachable;
}

std::optional<absl::Time> FakeClusterDatabase::LeaseUntil(
    const std::string& daemon_id) {
  absl::MutexLock lock(&mu_);
  auto it = daemons_.find(daemon_id);
  if (it == daemons_.end()) return std::nullopt;
  return it->second;
}

std::pair<std::string, uint64_t> FakeClusterDatabase::OwnerRow(
    const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return {"", 0};
  return {it->second.owner, it->second.epoch};
}

size_t FakeClusterDatabase::InboxSize() {
  absl::MutexLock lock(&mu_);
  return inbox_.size();
}

bool FakeClusterDatabase::LeaseCurrent(const std::string& daemon_id) const {
  auto it = daemons_.find(daemon_id);
  return it != daemons_.end() && it->second > clock_.Now();
}

FakeClusterStore::~FakeClusterStore() {
  absl::MutexLock lock(&mu_);
  absl::MutexLock database_lock(&database_.mu_);
  database_.members_.erase(daemon_id_);
}

void FakeClusterStore::DropNotifications(bool drop) {
  absl::MutexLock lock(&mu_);
  drop_notifications_ = drop;
}

void FakeClusterStore::FailInboxDeletes(int count) {
  absl::MutexLock lock(&mu_);
  failing_deletes_ = count;
}

// --- TaskStore ---

void FakeClusterStore::PutDefinitionAsync(v1::TaskDefinition definition,
                                          absl::Time now,
                                          Done<PutDefinitionResult> done) {
  tasks_.PutDefinitionAsync(std::move(definition), now, std::move(done));
}

absl::StatusOr<DefinitionRecord> FakeClusterStore::GetDefinition(
    absl::string_view name, absl::string_view version) {
  return tasks_.GetDefinition(name, version);
}

absl::StatusOr<DefinitionPage> FakeClusterStore::ListDefinitions(
    const DefinitionQuery& query) {
  return tasks_.ListDefinitions(query);
}

void FakeClusterStore::CreateTaskAsync(TaskRecord record,
                                       std::vector<v1::TaskEvent> first_events,
                                       Done<CreateTaskResult> done) {
  const std::string id = record.id;
  absl::StatusOr<CreateTaskResult> created;
  tasks_.CreateTaskAsync(std::move(record), std::move(first_events),
                         [&](absl::StatusOr<CreateTaskResult> result) {
                           created = std::move(result);
                         });
  if (created.ok() && created->created) {
    // The creating daemon owns the task, at epoch 1.
    absl::MutexLock lock(&mu_);
    owned_[id] = 1;
    absl::MutexLock database_lock(&database_.mu_);
    database_.rows_[id] = {daemon_id_, 1};
  }
  done(std::move(created));
}

absl::StatusOr<TaskRecord> FakeClusterStore::GetTask(absl::string_view id) {
  return tasks_.GetTask(id);
}

void FakeClusterStore::GetTaskAsync(std::string id, Done<TaskRecord> done) {
  tasks_.GetTaskAsync(std::move(id), std::move(done));
}

absl::StatusOr<TaskPage> FakeClusterStore::ListTasks(const TaskQuery& query) {
  return tasks_.ListTasks(query);
}

absl::Status FakeClusterStore::Fence(const std::string& id, bool& lost) {
  lost = false;
  absl::MutexLock lock(&mu_);
  auto held = owned_.find(id);
  absl::MutexLock database_lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  auto row = database_.rows_.find(id);
  if (held != owned_.end() && row != database_.rows_.end() &&
      row->second.owner == daemon_id_ && row->second.epoch == held->second) {
    return absl::OkStatus();
  }
  if (held != owned_.end()) owned_.erase(held);
  lost = true;
  return LeaseLostError(id);
}

void FakeClusterStore::LeaseLost(const std::string& id) {
  std::shared_ptr<ClusterCallbacks> callbacks;
  {
    absl::MutexLock lock(&mu_);
    callbacks = callbacks_;
  }
  if (callbacks != nullptr && callbacks->on_lease_lost) {
    callbacks->on_lease_lost(id);
  }
}

void FakeClusterStore::RecordProgressAsync(std::string id,
                                           TaskProgress progress,
                                           Done<uint64_t> done) {
  bool lost = false;
  if (absl::Status fenced = Fence(id, lost); !fenced.ok()) {
    if (lost) LeaseLost(id);
    done(fenced);
    return;
  }
  const bool ends = progress.finished_at.has_value();
  tasks_.RecordProgressAsync(id, std::move(progress), std::move(done));
  if (ends) {
    absl::MutexLock lock(&mu_);
    owned_.erase(id);
  }
}

absl::StatusOr<EventBatch> FakeClusterStore::ReadEvents(absl::string_view id,
                                                        uint64_t after_sequence,
                                                        int max_events) {
  return tasks_.ReadEvents(id, after_sequence, max_events);
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
FakeClusterStore::CountTasksByStatus() {
  return tasks_.CountTasksByStatus();
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
FakeClusterStore::CountTasksByStatusIn(absl::string_view namespace_name) {
  return tasks_.CountTasksByStatusIn(namespace_name);
}

void FakeClusterStore::FindWakeAsync(std::string id, std::string request_id,
                                     Done<std::optional<WakeRecord>> done) {
  tasks_.FindWakeAsync(std::move(id), std::move(request_id), std::move(done));
}

void FakeClusterStore::RecordWakeSignalAsync(std::string id,
                                             std::string request_id,
                                             WakeRecord wake,
                                             v1::PendingSignal signal,
                                             StatusDone done) {
  bool lost = false;
  if (absl::Status fenced = Fence(id, lost); !fenced.ok()) {
    if (lost) LeaseLost(id);
    done(fenced);
    return;
  }
  tasks_.RecordWakeSignalAsync(std::move(id), std::move(request_id), wake,
                               std::move(signal), std::move(done));
}

absl::Status FakeClusterStore::ForEachUnfinishedTask(
    absl::FunctionRef<absl::Status(TaskRecord)> visit, int page_size) {
  return tasks_.ForEachUnfinishedTask(
      [&](TaskRecord record) -> absl::Status {
        if (OwnedEpoch(record.id) == 0) return absl::OkStatus();
        return visit(std::move(record));
      },
      page_size);
}

// --- ClusterStore ---

void FakeClusterStore::SetClusterCallbacks(ClusterCallbacks callbacks) {
  absl::MutexLock lock(&mu_);
  callbacks_ = std::make_shared<ClusterCallbacks>(std::move(callbacks));
}

absl::Status FakeClusterStore::Join(absl::Duration lease) {
  absl::MutexLock lock(&mu_);
  absl::MutexLock database_lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  database_.members_.erase(daemon_id_);
  daemon_id_ = absl::StrCat("daemon-", database_.next_daemon_++);
  owned_.clear();
  database_.daemons_[daemon_id_] = database_.clock_.Now() + lease;
  database_.members_[daemon_id_] = this;
  return absl::OkStatus();
}

std::string FakeClusterStore::daemon_id() const {
  absl::MutexLock lock(&mu_);
  return daemon_id_;
}

absl::Status FakeClusterStore::RenewDaemonLease(absl::Duration lease) {
  absl::MutexLock lock(&mu_);
  absl::MutexLock database_lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  if (!database_.LeaseCurrent(daemon_id_)) {
    owned_.clear();
    return LeaseLostError("");
  }
  database_.daemons_[daemon_id_] = database_.clock_.Now() + lease;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ClaimedTask>> FakeClusterStore::ClaimTasks(
    int max_tasks) {
  std::vector<TaskRecord> unfinished;
  absl::Status read = tasks_.ForEachUnfinishedTask(
      [&](TaskRecord record) {
        unfinished.push_back(std::move(record));
        return absl::OkStatus();
      },
      /*page_size=*/1024);
  if (!read.ok()) return read;
  std::vector<ClaimedTask> claimed;
  absl::MutexLock lock(&mu_);
  absl::MutexLock database_lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  for (TaskRecord& record : unfinished) {
    if (static_cast<int>(claimed.size()) >= max_tasks) break;
    FakeClusterDatabase::TaskRow& row = database_.rows_[record.id];
    if (!row.owner.empty() && database_.LeaseCurrent(row.owner)) continue;
    row.owner = daemon_id_;
    ++row.epoch;
    owned_[record.id] = row.epoch;
    claimed.push_back({std::move(record), row.epoch});
  }
  return claimed;
}

absl::Status FakeClusterStore::ReleaseTasks(
    const std::vector<std::string>& task_ids) {
  absl::MutexLock lock(&mu_);
  absl::MutexLock database_lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  for (const std::string& id : task_ids) {
    auto held = owned_.find(id);
    if (held == owned_.end()) continue;
    auto row = database_.rows_.find(id);
    if (row != database_.rows_.end() && row->second.owner == daemon_id_ &&
        row->second.epoch == held->second) {
      row->second.owner.clear();
    }
    owned_.erase(held);
  }
  return absl::OkStatus();
}

absl::Status FakeClusterStore::Leave() {
  absl::MutexLock lock(&mu_);
  absl::MutexLock database_lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  for (auto& [id, row] : database_.rows_) {
    if (row.owner == daemon_id_) row.owner.clear();
  }
  owned_.clear();
  database_.daemons_.erase(daemon_id_);
  database_.members_.erase(daemon_id_);
  return absl::OkStatus();
}

uint64_t FakeClusterStore::OwnedEpoch(absl::string_view task_id) const {
  absl::MutexLock lock(&mu_);
  auto it = owned_.find(task_id);
  return it == owned_.end() ? 0 : it->second;
}

absl::StatusOr<std::string> FakeClusterStore::OwnerOf(
    absl::string_view task_id) {
  absl::MutexLock lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  auto row = database_.rows_.find(task_id);
  if (row == database_.rows_.end() ||
      !database_.LeaseCurrent(row->second.owner)) {
    return std::string();
  }
  return row->second.owner;
}

void FakeClusterStore::EnqueueInboxAsync(InboxMessage message,
                                         Done<InboxReceipt> done) {
  absl::StatusOr<TaskRecord> task = tasks_.GetTask(message.task_id);
  if (!task.ok()) {
    done(task.status());
    return;
  }
  if (task->finished_at.has_value()) {
    done(absl::FailedPreconditionError(absl::StrCat(
        "task ", message.task_id, " has ended and takes no more signals")));
    return;
  }
  InboxReceipt receipt;
  FakeClusterStore* owner = nullptr;
  {
    absl::MutexLock lock(&database_.mu_);
    if (!database_.reachable_) {
      done(Unreachable());
      return;
    }
    const bool keyed = message.kind == InboxMessage::Kind::kWake &&
                       !message.request_id.empty();
    std::optional<WakeRecord> answered;
    if (keyed) {
      tasks_.FindWakeAsync(
          message.task_id, message.request_id,
          [&](absl::StatusOr<std::optional<WakeRecord>> found) {
            if (found.ok()) answered = *found;
          });
    }
    if (keyed &&
        (answered.has_value() ||
         !database_.queued_wakes_.emplace(message.task_id, message.request_id)
              .second)) {
      receipt.duplicate = true;
    } else {
      receipt.id = message.id = database_.next_message_++;
      auto row = database_.rows_.find(message.task_id);
      if (row != database_.rows_.end()) {
        auto member = database_.members_.find(row->second.owner);
        if (member != database_.members_.end()) owner = member->second;
      }
      database_.inbox_.emplace(message.id, message);
    }
  }
  if (owner != nullptr) owner->Notify(message.task_id);
  done(receipt);
}

void FakeClusterStore::Notify(const std::string& task_id) {
  std::shared_ptr<ClusterCallbacks> callbacks;
  {
    absl::MutexLock lock(&mu_);
    if (drop_notifications_) return;
    callbacks = callbacks_;
  }
  if (callbacks != nullptr && callbacks->on_inbox) callbacks->on_inbox(task_id);
}

absl::StatusOr<std::vector<InboxMessage>> FakeClusterStore::ReadInbox(
    absl::string_view task_id) {
  absl::MutexLock lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  std::vector<InboxMessage> messages;
  for (const auto& [id, message] : database_.inbox_) {
    if (message.task_id == task_id) messages.push_back(message);
  }
  return messages;
}

absl::StatusOr<std::vector<std::string>> FakeClusterStore::TasksWithInbox() {
  absl::MutexLock lock(&mu_);
  absl::MutexLock database_lock(&database_.mu_);
  if (!database_.reachable_) return Unreachable();
  std::set<std::string> ids;
  for (const auto& [id, message] : database_.inbox_) {
    if (owned_.contains(message.task_id)) ids.insert(message.task_id);
  }
  return std::vector<std::string>(ids.begin(), ids.end());
}

void FakeClusterStore::DeleteInboxAsync(std::vector<int64_t> ids,
                                        StatusDone done) {
  bool fails = false;
  {
    absl::MutexLock lock(&mu_);
    if (failing_deletes_ > 0) {
      --failing_deletes_;
      fails = true;
    }
  }
  if (!fails) {
    absl::MutexLock lock(&database_.mu_);
    fails = !database_.reachable_;
    if (!fails) {
      for (int64_t id : ids) database_.inbox_.erase(id);
    }
  }
  done(fails ? Unreachable() : absl::OkStatus());
}

}  // namespace corosched::server
