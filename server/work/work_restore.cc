// WorkQueues: leases put back, after a restart (Restore) or because they
// never reached their worker (ReturnUndelivered).

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/work/work_checks.h"
#include "server/work/work_queues.h"
#include "server/work/work_token.h"

namespace corosched::server {
namespace {

absl::Status ValidateLeaseRecord(const LeaseRecord& record) {
  if (record.heartbeat <= absl::ZeroDuration() &&
      record.timeout_deadline == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError(
        "the lease record has neither a heartbeat interval nor a timeout "
        "deadline: it is damaged");
  }
  WorkSpec spec;  // the fields a record shares with a spec
  spec.task_id = record.task_id;
  spec.attempt = record.attempt;
  spec.queue = record.queue;
  spec.heartbeat = record.heartbeat;
  spec.timeout = absl::InfiniteDuration();  // the deadline is checked above
  if (absl::Status s = ValidateWorkSpec(spec); !s.ok()) return s;
  if (absl::Status s = ValidateWorkerIdentity(record.worker_identity);
      !s.ok()) {
    return s;
  }
  if (record.nonce.size() != WorkToken::kNonceBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("nonce: ", record.nonce.size(), " bytes, not ",
                     WorkToken::kNonceBytes, ": the lease record is damaged"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WorkQueues::Restore(LeaseRecord record) {
  if (absl::Status s = ValidateLeaseRecord(record); !s.ok()) return s;
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    if (items_.contains(record.task_id)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "task_id: the task already has a work item here; restore each lease "
          "once"));
    }
    absl::StatusOr<Queue*> queue = GetOrAddQueue(record.queue);
    if (!queue.ok()) return queue.status();
    if (record.heartbeat > absl::ZeroDuration()) {
      // Heartbeats sent while the daemon was down could not arrive.
      record.heartbeat_deadline =
          std::max(record.heartbeat_deadline, clock_.Now() + record.heartbeat);
    }
    Item& item = items_[record.task_id];
    item.spec.task_id = record.task_id;
    item.spec.attempt = record.attempt;
    item.spec.queue = record.queue;
    item.spec.heartbeat = record.heartbeat;
    item.spec.scheduled_at = record.scheduled_at;
    item.leased = true;
    item.restored = true;
    item.lease = std::move(record);
    ++(*queue)->leased;
    Reindex(item, effects);
  }
  Run(std::move(effects));
  return absl::OkStatus();
}

std::optional<LeaseRecord> WorkQueues::FindLease(absl::string_view task_id) {
  absl::MutexLock lock(&mu_);
  auto it = items_.find(task_id);
  if (it == items_.end() || !it->second.leased) return std::nullopt;
  return it->second.lease;
}

absl::Status WorkQueues::ReturnUndelivered(absl::string_view token) {
  absl::StatusOr<std::string> nonce = NewLeaseNonce();
  if (!nonce.ok()) return nonce.status();
  Effects effects;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Item*> found = FindCurrentLease(token, effects);
    if (!found.ok()) {
      status = found.status();
    } else if ((*found)->restored) {
      status = absl::FailedPreconditionError(
          "token: this lease was restored after a restart, so it reached its "
          "worker before; it cannot be returned");
    } else if ((*found)->lease.cancel_requested) {
      WorkOutcome outcome;
      outcome.kind = WorkOutcomeKind::kCancelled;
      outcome.message = "cancelled while its lease was on its way to a worker";
      End(**found, std::move(outcome), /*answered=*/false, effects);
    } else {
      Item& item = **found;
      const std::string name = item.spec.queue;  // Dispatch may end `item`
      Queue& queue = queues_[name];
      --queue.leased;
      item.leased = false;
      item.lease = LeaseRecord();
      item.next_nonce = *std::move(nonce);
      queue.ready.push_front(item.spec.task_id);
      Reindex(item, effects);
      Dispatch(name, effects);
    }
  }
  Run(std::move(effects));
  return status;
}

}  // namespace corosched::server
