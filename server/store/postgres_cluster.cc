// PostgresStore's ClusterStore half: the daemon's lease, task claims and
// releases, and the inbox (cluster_store.h).

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/postgres_queries.h"
#include "server/store/postgres_store.h"
#include "server/store/work_routing_store.h"

namespace corosched::server {
namespace {

// A fresh daemon id: 16 hex digits, also part of its NOTIFY channel.
std::string NewDaemonId() {
  std::random_device random;
  const uint64_t bits = (static_cast<uint64_t>(random()) << 32) ^ random();
  return absl::StrCat(absl::Hex(bits, absl::kZeroPad16));
}

// The daemon's own lease expired: IsLeaseLost, as a task's loss is.
absl::Status DaemonLeaseLost(absl::string_view daemon_id) {
  absl::Status status = absl::FailedPreconditionError(absl::StrCat(
      "this daemon's lease (", daemon_id,
      ") expired before it was renewed: every task it ran may run elsewhere "
      "now; join again"));
  LeaseLostError(daemon_id).ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) {
        status.SetPayload(url, payload);
      });
  return status;
}

absl::Status NotJoined() {
  return absl::FailedPreconditionError(
      "this daemon has not joined the cluster (Join)");
}

// Unfinished tasks nobody runs (no owner, or an owner whose lease expired
// or whose row is gone), those handed over to this daemon first, then most
// due first, claimed in one statement that also reads what the claimer
// resumes from. Skips rows another daemon is claiming, and a task handed
// over to another live daemon less than kHandoverReserve ago. Claims
// nothing once this daemon's own lease expired.
constexpr const char* kClaimSql =
    "UPDATE corosched_tasks t SET owner = $1, epoch = t.epoch + 1, "
    "handoff_to = NULL, handoff_at = NULL "
    "WHERE t.key = ANY(ARRAY("
    "  SELECT c.key FROM corosched_tasks c WHERE c.finished_at_ns IS NULL "
    "  AND (c.owner IS NULL OR NOT EXISTS (SELECT 1 FROM corosched_daemons d "
    "    WHERE d.id = c.owner AND d.lease_until > now())) "
    "  AND (c.handoff_to IS NULL OR c.handoff_to = $1 "
    "    OR c.handoff_at < now() - $3::bigint * interval '1 microsecond' "
    "    OR NOT EXISTS (SELECT 1 FROM corosched_daemons h "
    "      WHERE h.id = c.handoff_to AND h.lease_until > now())) "
    "  ORDER BY c.handoff_to IS NOT DISTINCT FROM $1 DESC, c.due_at_ns, "
    "  c.position LIMIT $2 FOR UPDATE SKIP LOCKED)) "
    "AND EXISTS (SELECT 1 FROM corosched_daemons m "
    "  WHERE m.id = $1 AND m.lease_until > now()) "
    "RETURNING t.position, t.key, t.request_fingerprint, t.definition, "
    "t.inputs_and_labels, t.created_at_ns, t.start_at_ns, t.finished_at_ns, "
    "t.snapshot, t.last_event_sequence, t.epoch";

}  // namespace

void PostgresStore::SetClusterCallbacks(ClusterCallbacks callbacks) {
  absl::MutexLock lock(&callbacks_mu_);
  callbacks_ = std::make_shared<ClusterCallbacks>(std::move(callbacks));
  // Calls of the old callbacks that already started finish first.
  callbacks_mu_.Await(absl::Condition(this, &PostgresStore::CallbacksIdle));
}

void PostgresStore::Notify(bool lease_lost, const std::string& payload) {
  std::shared_ptr<ClusterCallbacks> callbacks;
  {
    absl::MutexLock lock(&callbacks_mu_);
    if (callbacks_ == nullptr) return;
    callbacks = callbacks_;
    ++callbacks_running_;
  }
  const absl::string_view handover = PgHandoverTask(payload);
  if (lease_lost) {
    if (callbacks->on_lease_lost) callbacks->on_lease_lost(payload);
  } else if (!handover.empty()) {
    if (callbacks->on_handover) callbacks->on_handover(std::string(handover));
  } else if (callbacks->on_inbox) {
    callbacks->on_inbox(payload);
  }
  absl::MutexLock lock(&callbacks_mu_);
  --callbacks_running_;
}

absl::Status PostgresStore::Join(absl::Duration lease) {
  const std::string id = NewDaemonId();
  PgParams params;
  params.Text(id).Int(absl::ToInt64Microseconds(lease));
  absl::Status joined = pool_->Run([&](PgConnection& c) {
    return c
        .Query(
            "INSERT INTO corosched_daemons (id, lease_until) VALUES ($1, "
            "now() + $2::bigint * interval '1 microsecond')",
            params)
        .status();
  });
  if (!joined.ok()) return joined;
  {
    absl::MutexLock lock(&mu_);
    daemon_id_ = id;
    owned_.clear();  // a lease never comes back to life
  }
  listener_->Listen(PgInboxChannel(id));
  return absl::OkStatus();
}

std::string PostgresStore::daemon_id() const {
  absl::MutexLock lock(&mu_);
  return daemon_id_;
}

absl::Status PostgresStore::RenewDaemonLease(absl::Duration lease) {
  const std::string id = daemon_id();
  if (id.empty()) return NotJoined();
  PgParams params;
  params.Text(id).Int(absl::ToInt64Microseconds(lease));
  absl::StatusOr<int64_t> renewed =
      Read<int64_t>([&](PgConnection& c) -> absl::StatusOr<int64_t> {
        absl::StatusOr<PgResult> updated = c.Query(
            "UPDATE corosched_daemons SET lease_until = now() + "
            "$2::bigint * interval '1 microsecond' "
            "WHERE id = $1 AND lease_until > now()",
            params);
        if (!updated.ok()) return updated.status();
        return updated->affected();
      });
  if (!renewed.ok()) return renewed.status();
  if (*renewed > 0) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (daemon_id_ == id) owned_.clear();
  return DaemonLeaseLost(id);
}

absl::StatusOr<std::vector<ClaimedTask>> PostgresStore::ClaimTasks(
    int max_tasks) {
  const std::string id = daemon_id();
  if (id.empty()) return NotJoined();
  std::vector<ClaimedTask> claimed;
  if (max_tasks <= 0) return claimed;
  absl::MutexLock claiming(&claim_mu_);
  if (strays_possible_) {
    if (absl::Status released = ReleaseStrays(id); !released.ok()) {
      return released;
    }
    strays_possible_ = false;
  }
  PgParams params;
  params.Text(id).Int(max_tasks).Int(
      absl::ToInt64Microseconds(kHandoverReserve));
  absl::Status read = pool_->Run([&](PgConnection& c) -> absl::Status {
    absl::StatusOr<PgResult> rows = c.Query(kClaimSql, params);
    if (!rows.ok()) return rows.status();
    PgParsedDefinitions parsed;
    std::vector<std::pair<int64_t, ClaimedTask>> ordered;
    for (int row = 0; row < rows->rows(); ++row) {
      absl::StatusOr<TaskRecord> record = ReadPgTask(*rows, row, &parsed);
      if (!record.ok()) return record.status();
      ordered.push_back(
          {rows->Int(row, 0),
           {*std::move(record), static_cast<uint64_t>(rows->Int(row, 10))}});
    }
    std::sort(ordered.begin(), ordered.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [position, task] : ordered) claimed.push_back(std::move(task));
    return absl::OkStatus();
  });
  if (!read.ok()) {
    // The claim may have committed all the same: its tasks would stay
    // owned by this daemon, and run by nobody, for as long as it lives.
    strays_possible_ = true;
    return read;
  }
  absl::MutexLock lock(&mu_);
  if (daemon_id_ != id) return DaemonLeaseLost(id);  // joined anew meanwhile
  for (const ClaimedTask& task : claimed) {
    owned_[task.record.id] = task.epoch;
  }
  return claimed;
}

absl::Status PostgresStore::ReleaseStrays(const std::string& id) {
  PgParams params;
  params.Text(id);
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> held =
      Read<std::vector<std::pair<std::string, int64_t>>>(
          [&](PgConnection& c)
              -> absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> {
            absl::StatusOr<PgResult> rows = c.Query(
                "SELECT key, epoch FROM corosched_tasks "
                "WHERE owner = $1 AND finished_at_ns IS NULL",
                params);
            if (!rows.ok()) return rows.status();
            std::vector<std::pair<std::string, int64_t>> tasks;
            tasks.reserve(rows->rows());
            for (int row = 0; row < rows->rows(); ++row) {
              tasks.emplace_back(rows->Bytes(row, 0), rows->Int(row, 1));
            }
            return tasks;
          });
  if (!held.ok()) return held.status();
  std::vector<std::string> keys;
  std::vector<int64_t> epochs;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [key, epoch] : *held) {
      auto it = owned_.find(key);
      if (it != owned_.end() && it->second == static_cast<uint64_t>(epoch)) {
        continue;
      }
      keys.push_back(std::move(key));
      epochs.push_back(epoch);
    }
  }
  if (keys.empty()) return absl::OkStatus();
  return ReleaseInDatabase(id, keys, epochs);
}

absl::Status PostgresStore::ReleaseInDatabase(
    const std::string& id, const std::vector<std::string>& keys,
    const std::vector<int64_t>& epochs) {
  PgParams params;
  params.Text(id).Text(ArrayLiteral(keys)).Text(ArrayLiteral(epochs));
  return pool_->Run([&](PgConnection& c) {
    return c
        .Query(
            "UPDATE corosched_tasks t SET owner = NULL "
            "FROM unnest($2::text[], $3::bigint[]) AS r(key, epoch) "
            "WHERE t.key = r.key AND t.epoch = r.epoch AND t.owner = $1",
            params)
        .status();
  });
}

absl::Status PostgresStore::ReleaseTasks(
    const std::vector<std::string>& task_ids) {
  std::vector<std::string> keys;
  std::vector<int64_t> epochs;
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    id = daemon_id_;
    for (const std::string& task : task_ids) {
      auto it = owned_.find(task);
      if (it == owned_.end()) continue;
      keys.push_back(task);
      epochs.push_back(static_cast<int64_t>(it->second));
      owned_.erase(it);
    }
  }
  if (keys.empty()) return absl::OkStatus();
  absl::Status released = ReleaseInDatabase(id, keys, epochs);
  if (absl::IsUnavailable(released)) {
    for (size_t i = 0; i < keys.size(); ++i) {
      ReleaseWhenReachable(keys[i], {id, static_cast<uint64_t>(epochs[i])});
    }
  }
  return released;
}

absl::Status PostgresStore::Leave() {
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    id = std::exchange(daemon_id_, "");
    owned_.clear();
  }
  listener_->Listen("");
  if (id.empty()) return absl::OkStatus();
  PgParams params;
  params.Text(id);
  return InTransaction([&](PgConnection& c) {
    absl::StatusOr<PgResult> released = c.Query(
        "UPDATE corosched_tasks SET owner = NULL WHERE owner = $1 AND "
        "finished_at_ns IS NULL",
        params);
    if (!released.ok()) return released.status();
    return c.Query("DELETE FROM corosched_daemons WHERE id = $1", params)
        .status();
  });
}

uint64_t PostgresStore::OwnedEpoch(absl::string_view task_id) const {
  absl::MutexLock lock(&mu_);
  auto it = owned_.find(task_id);
  return it == owned_.end() ? 0 : it->second;
}

absl::StatusOr<std::string> PostgresStore::OwnerOf(absl::string_view task_id) {
  PgParams params;
  params.Text(task_id);
  return Read<std::string>([&](PgConnection& c) -> absl::StatusOr<std::string> {
    absl::StatusOr<PgResult> rows = c.Query(
        "SELECT d.id FROM corosched_tasks t LEFT JOIN corosched_daemons d "
        "ON d.id = t.owner AND d.lease_until > now() WHERE t.key = $1",
        params);
    if (!rows.ok()) return rows.status();
    if (rows->rows() == 0) return PgTaskNotFound(task_id);
    return std::string(rows->Bytes(0, 0));  // NULL reads as ""
  });
}

void PostgresStore::EnqueueInboxAsync(InboxMessage message,
                                      Done<InboxReceipt> done) {
  const std::string key = message.task_id;
  Submit<InboxReceipt>(
      key,
      [message = std::move(message)](PgConnection& c) {
        return PgWriteInbox(c, message);
      },
      std::move(done), /*durable=*/true);
}

absl::StatusOr<std::vector<InboxMessage>> PostgresStore::ReadInbox(
    absl::string_view task_id) {
  PgParams params;
  params.Text(task_id);
  return Read<std::vector<InboxMessage>>(
      [&](PgConnection& c) -> absl::StatusOr<std::vector<InboxMessage>> {
        absl::StatusOr<PgResult> rows = c.Query(
            "SELECT id, kind, request_id, payload FROM corosched_inbox "
            "WHERE task_key = $1 ORDER BY id",
            params);
        if (!rows.ok()) return rows.status();
        std::vector<InboxMessage> messages;
        for (int row = 0; row < rows->rows(); ++row) {
          InboxMessage& message = messages.emplace_back();
          message.id = rows->Int(row, 0);
          message.task_id = std::string(task_id);
          message.request_id = std::string(rows->Bytes(row, 2));
          const absl::string_view payload = rows->Bytes(row, 3);
          if (rows->Int(row, 1) == 1) {
            message.kind = InboxMessage::Kind::kCancel;
            message.reason = std::string(payload);
          } else if (!message.signal.ParseFromArray(
                         payload.data(), static_cast<int>(payload.size()))) {
            return absl::DataLossError(
                absl::StrCat("a queued wake of task ", task_id,
                             " cannot be parsed; the database is damaged"));
          }
        }
        return messages;
      });
}

absl::StatusOr<std::vector<std::string>> PostgresStore::TasksWithInbox() {
  const std::string id = daemon_id();
  if (id.empty()) return std::vector<std::string>();
  PgParams params;
  params.Text(id);
  return Read<std::vector<std::string>>(
      [&](PgConnection& c) -> absl::StatusOr<std::vector<std::string>> {
        absl::StatusOr<PgResult> rows = c.Query(
            "SELECT DISTINCT i.task_key FROM corosched_inbox i "
            "JOIN corosched_tasks t ON t.key = i.task_key WHERE t.owner = $1",
            params);
        if (!rows.ok()) return rows.status();
        std::vector<std::string> tasks;
        tasks.reserve(rows->rows());
        for (int row = 0; row < rows->rows(); ++row) {
          tasks.emplace_back(rows->Bytes(row, 0));
        }
        return tasks;
      });
}

void PostgresStore::DeleteInboxAsync(std::vector<int64_t> ids,
                                     StatusDone done) {
  // Messages of several tasks, each already applied: no order to keep.
  Submit<bool>(
      "",
      [ids = std::move(ids)](PgConnection& c) -> absl::StatusOr<bool> {
        absl::Status deleted = PgDeleteInbox(c, ids);
        if (!deleted.ok()) return deleted;
        return true;
      },
      [done = std::move(done)](const absl::StatusOr<bool>& deleted) mutable {
        if (done) std::move(done)(deleted.status());
      },
      /*durable=*/true);
}

}  // namespace corosched::server
