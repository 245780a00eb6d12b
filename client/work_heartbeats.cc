#include "client/work_heartbeats.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace corosched {

WorkHeartbeats::WorkHeartbeats(WorkCalls& calls, ErrorCallback on_error)
    : calls_(calls), on_error_(std::move(on_error)) {}

WorkHeartbeats::~WorkHeartbeats() { Stop(); }

void WorkHeartbeats::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void WorkHeartbeats::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    changed_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void WorkHeartbeats::Add(std::shared_ptr<WorkLease> lease) {
  const absl::Duration interval = lease->heartbeat_interval();
  if (interval == absl::ZeroDuration()) return;
  absl::MutexLock lock(&mu_);
  const WorkLease* key = lease.get();
  held_[key] = Held{std::move(lease), absl::Now() + interval / 3};
  changed_ = true;
}

void WorkHeartbeats::Remove(const WorkLease* lease) {
  absl::MutexLock lock(&mu_);
  held_.erase(lease);
}

bool WorkHeartbeats::ChangedOrStopping() const { return changed_ || stopping_; }

void WorkHeartbeats::Loop() {
  for (;;) {
    std::vector<std::shared_ptr<WorkLease>> due;
    {
      absl::MutexLock lock(&mu_);
      absl::Time next = absl::InfiniteFuture();
      for (const auto& [key, held] : held_) next = std::min(next, held.next);
      changed_ = false;
      mu_.AwaitWithDeadline(
          absl::Condition(this, &WorkHeartbeats::ChangedOrStopping), next);
      if (stopping_) return;
      const absl::Time now = absl::Now();
      for (auto& [key, held] : held_) {
        if (held.next > now) continue;
        due.push_back(held.lease);
        held.next = now + held.lease->heartbeat_interval() / 3;
      }
    }
    for (const std::shared_ptr<WorkLease>& lease : due) Beat(*lease);
  }
}

void WorkHeartbeats::Beat(WorkLease& lease) {
  absl::StatusOr<v1::HeartbeatWorkResponse> answer = calls_.Heartbeat(lease);
  if (answer.ok()) {
    lease.Heartbeated(TimeOrInfinite(answer->has_heartbeat_deadline(),
                                     answer->heartbeat_deadline()));
    if (answer->cancel_requested()) lease.RequestCancel();
    return;
  }
  const bool lost =
      answer.status().code() == absl::StatusCode::kFailedPrecondition;
  {
    absl::MutexLock lock(&mu_);
    // Answered meanwhile: the refusal is of a lease the worker let go.
    auto it = held_.find(&lease);
    if (it == held_.end()) return;
    if (lost) held_.erase(it);
  }
  if (lost) lease.MarkLost();
  if (on_error_) {
    on_error_(absl::Status(
        answer.status().code(),
        absl::StrCat("heartbeat of task ", lease.item().task_id(), " attempt ",
                     lease.item().attempt(), ": ", answer.status().message())));
  }
}

}  // namespace corosched
