#pragma once

// The PostgreSQL store's writes, as functions of the writer connection. Each
// runs on the writer thread inside the batch's transaction, under its own
// savepoint (postgres_writer.h), with the meaning and the errors of the
// TaskStore or ClusterStore method it serves.
//
// Fencing (cluster_store.h): the writes of a task's progress and wakes
// apply only while the row shows (`owner`, `epoch`); otherwise they are
// refused with LeaseLostError, or NOT_FOUND when there is no such task.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/store/cluster_store.h"
#include "server/store/postgres_connection.h"
#include "server/store/task_store.h"

namespace corosched::server {

// Who writes: this daemon's id and the epoch it holds for the task
// (0: none, so the write is refused).
struct PgFence {
  std::string owner;
  uint64_t epoch = 0;
};

absl::StatusOr<PutDefinitionResult> PgWriteDefinition(
    PgConnection& connection, const v1::TaskDefinition& definition,
    absl::Time now);

// Creates the task owned by `owner` at epoch 1. With `joined` (progress
// queued before the create was written, progress_joiner.h), the row and the
// events are those after it, and `joined_last` gets the progress's answer;
// the result describes the task as submitted either way.
absl::StatusOr<CreateTaskResult> PgWriteNewTask(
    PgConnection& connection, TaskRecord record,
    std::vector<v1::TaskEvent> first_events, const std::string& owner,
    std::optional<TaskProgress> joined, absl::StatusOr<uint64_t>* joined_last);

absl::StatusOr<uint64_t> PgWriteProgress(PgConnection& connection,
                                         absl::string_view id,
                                         TaskProgress progress,
                                         const PgFence& fence,
                                         uint64_t max_events_per_task);

absl::Status PgWriteWakeSignal(PgConnection& connection, absl::string_view id,
                               absl::string_view request_id,
                               const WakeRecord& wake,
                               const v1::PendingSignal& signal,
                               const PgFence& fence);

// Deletes up to `max_tasks` tasks that finished before `cutoff`, oldest
// finish first, with their events, wakes and inbox (ON DELETE CASCADE).
absl::StatusOr<int> PgDeleteFinishedBefore(PgConnection& connection,
                                           absl::Time cutoff, int max_tasks);

absl::StatusOr<InboxReceipt> PgWriteInbox(PgConnection& connection,
                                          const InboxMessage& message);
absl::Status PgDeleteInbox(PgConnection& connection,
                           const std::vector<int64_t>& ids);

// Gives the task up (owner NULL, epoch kept) if `fence` still holds it.
absl::Status PgReleaseTask(PgConnection& connection, absl::string_view id,
                           const PgFence& fence);

// The NOTIFY channel of daemon `daemon_id`. A payload is the id of a task
// whose inbox got a message, or PgHandoverPayload(id) for a task handed
// over to the daemon (postgres_work_routing.cc).
std::string PgInboxChannel(absl::string_view daemon_id);
// '*' and the task's id: '*' is in no task id (request_checks.h).
std::string PgHandoverPayload(absl::string_view task_id);
// The task id of a handover payload; empty for any other payload.
absl::string_view PgHandoverTask(absl::string_view payload);

}  // namespace corosched::server
