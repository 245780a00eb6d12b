#include "server/store/testing/blocking_store.h"

#include <string>
#include <utility>

#include "absl/synchronization/notification.h"

namespace corosched::server {

template <typename T>
absl::StatusOr<T> BlockingStore::Wait(
    absl::FunctionRef<void(TaskStore::Done<T>)> start) {
  if (sqlite_ != nullptr && sqlite_->OnWriterThread()) {
    return absl::FailedPreconditionError(
        "a blocking store call was made on the store's writer thread (from "
        "a write's completion callback), where it would wait for itself; "
        "use the store's Async form there");
  }
  absl::Notification answered;
  std::optional<absl::StatusOr<T>> result;
  start([&](absl::StatusOr<T> outcome) {
    result = std::move(outcome);
    answered.Notify();
  });
  answered.WaitForNotification();
  return *std::move(result);
}

absl::StatusOr<PutDefinitionResult> BlockingStore::PutDefinition(
    const v1::TaskDefinition& definition, absl::Time now) {
  return Wait<PutDefinitionResult>(
      [&](TaskStore::Done<PutDefinitionResult> done) {
        store_.PutDefinitionAsync(definition, now, std::move(done));
      });
}

absl::StatusOr<CreateTaskResult> BlockingStore::CreateTask(
    const TaskRecord& record, std::vector<v1::TaskEvent> first_events) {
  absl::StatusOr<CreateTaskResult> created =
      Wait<CreateTaskResult>([&](TaskStore::Done<CreateTaskResult> done) {
        store_.CreateTaskAsync(record, std::move(first_events),
                               std::move(done));
      });
  if (created.ok() && created->created) {
    const uint64_t last = created->record.last_event_sequence;
    created->record = record;
    created->record.last_event_sequence = last;
  }
  return created;
}

absl::StatusOr<uint64_t> BlockingStore::RecordProgress(absl::string_view id,
                                                       TaskProgress progress) {
  progress.durable = true;
  return Wait<uint64_t>([&](TaskStore::Done<uint64_t> done) {
    store_.RecordProgressAsync(std::string(id), std::move(progress),
                               std::move(done));
  });
}

absl::Status BlockingStore::RecordWakeSignal(absl::string_view id,
                                             absl::string_view request_id,
                                             const WakeRecord& wake,
                                             const v1::PendingSignal& signal) {
  return Wait<bool>([&](TaskStore::Done<bool> done) {
           store_.RecordWakeSignalAsync(
               std::string(id), std::string(request_id), wake, signal,
               [done = std::move(done)](absl::Status stored) mutable {
                 if (stored.ok()) {
                   std::move(done)(true);
                 } else {
                   std::move(done)(std::move(stored));
                 }
               });
         })
      .status();
}

absl::StatusOr<std::optional<WakeRecord>> BlockingStore::FindWake(
    absl::string_view id, absl::string_view request_id) {
  return Wait<std::optional<WakeRecord>>(
      [&](TaskStore::Done<std::optional<WakeRecord>> done) {
        store_.FindWakeAsync(std::string(id), std::string(request_id),
                             std::move(done));
      });
}

absl::StatusOr<int> BlockingStore::PurgeFinishedBefore(absl::Time cutoff,
                                                       int max_rows) {
  if (sqlite_ == nullptr) {
    return absl::FailedPreconditionError(
        "BlockingStore::PurgeFinishedBefore needs a SqliteStore");
  }
  return Wait<int>([&](TaskStore::Done<int> done) {
    sqlite_->PurgeFinishedBeforeAsync(cutoff, max_rows, std::move(done));
  });
}

}  // namespace corosched::server
