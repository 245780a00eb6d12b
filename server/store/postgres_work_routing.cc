// PostgresStore's WorkRoutingStore half: advertisements of waiting work
// consumers and the handover of tasks to the daemons that have them
// (work_routing_store.h).

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/store/postgres_store.h"

namespace corosched::server {
namespace {

constexpr absl::string_view kHandoverPrefix = "*";

// Advertisements this long past their end are deleted by the next
// advertisement of any daemon: they are read by no one, and a daemon that
// left (or died) never deletes its own.
constexpr const char* kDeleteStaleSql =
    "DELETE FROM corosched_work_consumers "
    "WHERE seen_until < now() - interval '1 minute'";

constexpr const char* kAdvertiseSql =
    "INSERT INTO corosched_work_consumers (queue, daemon, consumers, "
    "seen_until) SELECT a.queue, $1, a.consumers, "
    "now() + $4::bigint * interval '1 microsecond' "
    "FROM unnest($2::text[], $3::bigint[]) AS a(queue, consumers) "
    "ON CONFLICT (queue, daemon) DO UPDATE SET "
    "consumers = excluded.consumers, seen_until = excluded.seen_until";

constexpr const char* kFindSql =
    "SELECT w.queue, w.daemon, w.consumers FROM corosched_work_consumers w "
    "JOIN corosched_daemons d ON d.id = w.daemon AND d.lease_until > now() "
    "WHERE w.queue = ANY($2::text[]) AND w.daemon <> $1 "
    "AND w.seen_until > now() ORDER BY w.queue, w.daemon";

// Fenced as every write of a task: only while the row shows (this daemon,
// the epoch it holds) and the task is unfinished.
constexpr const char* kHandOverSql =
    "UPDATE corosched_tasks SET owner = NULL, handoff_to = $4, "
    "handoff_at = now() WHERE key = $1 AND owner = $2 AND epoch = $3 "
    "AND finished_at_ns IS NULL";

}  // namespace

std::string PgHandoverPayload(absl::string_view task_id) {
  return absl::StrCat(kHandoverPrefix, task_id);
}

absl::string_view PgHandoverTask(absl::string_view payload) {
  if (!absl::ConsumePrefix(&payload, kHandoverPrefix)) return {};
  return payload;
}

absl::Status PostgresStore::AdvertiseConsumers(
    const std::vector<QueueConsumers>& queues, absl::Duration ttl) {
  const std::string id = daemon_id();
  if (id.empty()) {
    return absl::FailedPreconditionError(
        "this daemon has not joined the cluster (Join)");
  }
  if (queues.empty()) return absl::OkStatus();
  std::vector<std::string> names;
  std::vector<int64_t> counts;
  for (const QueueConsumers& queue : queues) {
    names.push_back(queue.queue);
    counts.push_back(static_cast<int64_t>(queue.consumers));
  }
  PgParams params;
  params.Text(id)
      .Text(ArrayLiteral(names))
      .Text(ArrayLiteral(counts))
      .Int(absl::ToInt64Microseconds(ttl));
  return pool_->Run([&](PgConnection& c) -> absl::Status {
    if (absl::Status s = c.Exec(kDeleteStaleSql); !s.ok()) return s;
    return c.Query(kAdvertiseSql, params).status();
  });
}

absl::StatusOr<std::vector<QueueConsumers>> PostgresStore::FindConsumers(
    const std::vector<std::string>& queues) {
  std::vector<QueueConsumers> found;
  if (queues.empty()) return found;
  PgParams params;
  params.Text(daemon_id()).Text(ArrayLiteral(queues));
  return Read<std::vector<QueueConsumers>>(
      [&](PgConnection& c) -> absl::StatusOr<std::vector<QueueConsumers>> {
        absl::StatusOr<PgResult> rows = c.Query(kFindSql, params);
        if (!rows.ok()) return rows.status();
        for (int row = 0; row < rows->rows(); ++row) {
          QueueConsumers& consumers = found.emplace_back();
          consumers.queue = std::string(rows->Bytes(row, 0));
          consumers.daemon_id = std::string(rows->Bytes(row, 1));
          consumers.consumers = static_cast<uint64_t>(rows->Int(row, 2));
        }
        return found;
      });
}

void PostgresStore::HandOverAsync(std::string task_id, std::string target,
                                  StatusDone done) {
  // Progress queued after this is the next owner's business: it must not
  // join a progress write queued before (and so be applied before) it.
  joiner_.EndJoining(task_id);
  const PgFence fence = FenceOf(task_id);
  Submit<bool>(
      task_id,
      [this, task_id, target, fence](PgConnection& c) -> absl::StatusOr<bool> {
        // The writes of the task queued before this one were applied (the
        // writer applies in order) while the store held it; from here on
        // the store does not, so those queued after are refused.
        if (fence.epoch == 0 || !Forget(task_id, fence.epoch)) {
          return LeaseLostError(task_id);
        }
        PgParams params;
        params.Text(task_id)
            .Text(fence.owner)
            .Int(static_cast<int64_t>(fence.epoch))
            .Text(target);
        absl::StatusOr<PgResult> updated = c.Query(kHandOverSql, params);
        if (!updated.ok()) return updated.status();
        if (updated->affected() == 0) return LeaseLostError(task_id);
        PgParams notify;
        notify.Text(PgInboxChannel(target)).Text(PgHandoverPayload(task_id));
        absl::StatusOr<PgResult> sent =
            c.Query("SELECT pg_notify($1, $2)", notify);
        if (!sent.ok()) return sent.status();
        return true;
      },
      [this, task_id, fence,
       done = std::move(done)](const absl::StatusOr<bool>& handed) mutable {
        // Not stored, and forgotten here: nobody runs the task until the
        // database has it unowned again.
        if (absl::IsUnavailable(handed.status()) && fence.epoch != 0) {
          Forget(task_id, fence.epoch);
          ReleaseWhenReachable(task_id, fence);
        }
        if (done) std::move(done)(handed.status());
      },
      // Lost with the database server, the task would stay owned by this
      // daemon, which no longer runs it, for as long as it lives.
      /*durable=*/true);
}

}  // namespace corosched::server
