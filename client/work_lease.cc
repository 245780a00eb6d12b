#include "client/work_lease.h"

#include <utility>

#include "client/worker.h"

namespace corosched {

absl::Time TimeOrInfinite(bool set, const google::protobuf::Timestamp& time) {
  if (!set) return absl::InfiniteFuture();
  return absl::FromUnixSeconds(time.seconds()) +
         absl::Nanoseconds(time.nanos());
}

namespace {

absl::Duration IntervalOf(const v1::WorkItem& item) {
  if (!item.has_heartbeat_deadline() || !item.has_started_at()) {
    return absl::ZeroDuration();
  }
  absl::Duration interval = TimeOrInfinite(true, item.heartbeat_deadline()) -
                            TimeOrInfinite(true, item.started_at());
  return interval > absl::ZeroDuration() ? interval : absl::ZeroDuration();
}

}  // namespace

WorkLease::WorkLease(v1::WorkItem item)
    : item_(std::move(item)),
      timeout_deadline_(TimeOrInfinite(item_.has_timeout_deadline(),
                                       item_.timeout_deadline())),
      heartbeat_interval_(IntervalOf(item_)),
      heartbeat_deadline_(TimeOrInfinite(item_.has_heartbeat_deadline(),
                                         item_.heartbeat_deadline())) {}

absl::Time WorkLease::heartbeat_deadline() const {
  absl::MutexLock lock(&mu_);
  return heartbeat_deadline_;
}

void WorkLease::Heartbeated(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  heartbeat_deadline_ = deadline;
}

bool WorkLease::cancel_requested() const {
  absl::MutexLock lock(&mu_);
  return cancel_requested_;
}

void WorkLease::RequestCancel() {
  absl::MutexLock lock(&mu_);
  cancel_requested_ = true;
}

bool WorkLease::WaitForCancel(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&cancel_requested_), timeout);
  return cancel_requested_;
}

void WorkLease::MarkLost() {
  absl::MutexLock lock(&mu_);
  lost_ = true;
  cancel_requested_ = true;
}

bool WorkLease::lost() const {
  absl::MutexLock lock(&mu_);
  return lost_;
}

void WorkLease::SetProgress(google::protobuf::Value details) {
  absl::MutexLock lock(&mu_);
  progress_ = std::move(details);
}

std::optional<google::protobuf::Value> WorkLease::progress() const {
  absl::MutexLock lock(&mu_);
  return progress_;
}

// --- WorkContext: the handler's view of its lease ---

WorkContext::WorkContext(std::shared_ptr<WorkLease> lease)
    : lease_(std::move(lease)) {}

WorkContext::~WorkContext() = default;

const std::string& WorkContext::task_id() const {
  return lease_->item().task_id();
}
uint32_t WorkContext::attempt() const { return lease_->item().attempt(); }
const std::string& WorkContext::queue() const { return lease_->item().queue(); }
const google::protobuf::Value& WorkContext::input() const {
  return lease_->item().input();
}
absl::Time WorkContext::heartbeat_deadline() const {
  return lease_->heartbeat_deadline();
}
absl::Time WorkContext::timeout_deadline() const {
  return lease_->timeout_deadline();
}
bool WorkContext::cancel_requested() const {
  return lease_->cancel_requested();
}
void WorkContext::SetProgress(google::protobuf::Value details) {
  lease_->SetProgress(std::move(details));
}
bool WorkContext::WaitForCancel(absl::Duration timeout) const {
  return lease_->WaitForCancel(timeout);
}

}  // namespace corosched
