#include "server/tasks/live_task.h"

namespace corosched::server {

bool WakeRequestsInFlight::JoinOrBegin(const std::string& request_id,
                                       WakeCallback& done) {
  absl::MutexLock lock(&mu_);
  if (waiting_ == nullptr) {
    waiting_ = std::make_unique<
        absl::flat_hash_map<std::string, std::vector<WakeCallback>>>();
  }
  auto [in_flight, began] = waiting_->try_emplace(request_id);
  if (began) return false;
  in_flight->second.push_back(std::move(done));
  return true;
}

std::vector<WakeCallback> WakeRequestsInFlight::Finish(
    const std::string& request_id) {
  std::vector<WakeCallback> repeats;
  absl::MutexLock lock(&mu_);
  if (waiting_ == nullptr) return repeats;
  auto in_flight = waiting_->find(request_id);
  if (in_flight != waiting_->end()) {
    repeats = std::move(in_flight->second);
    waiting_->erase(in_flight);
  }
  return repeats;
}

PollGate LiveTask::Enter(const Waker& polled_by) {
  absl::MutexLock lock(&mu_);
  if (!waker_.WillWake(polled_by)) waker_ = polled_by;
  if (cancel_ != nullptr) return PollGate::kCancel;
  return open_ ? PollGate::kRun : PollGate::kWait;
}

void LiveTask::Open() {
  Waker to_wake;
  {
    absl::MutexLock lock(&mu_);
    created_ = true;
    if (open_) return;
    open_ = true;
    to_wake = waker_;
  }
  std::move(to_wake).Wake();
}

void LiveTask::OpenUnrecorded() {
  Waker to_wake;
  {
    absl::MutexLock lock(&mu_);
    if (open_) return;
    open_ = true;
    to_wake = waker_;
  }
  std::move(to_wake).Wake();
}

bool LiveTask::created() {
  absl::MutexLock lock(&mu_);
  return created_;
}

bool LiveTask::RequestCancel(std::string reason, CancelCallback& done,
                             bool discard) {
  Waker to_wake;
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return false;
    if (cancel_ == nullptr) {
      cancel_ = std::make_unique<CancelRequest>();
      cancel_->reason = std::move(reason);
    }
    if (discard) discarded_ = true;
    if (done) cancel_->waiters.push_back(std::move(done));
    to_wake = waker_;
  }
  std::move(to_wake).Wake();
  return true;
}

bool LiveTask::cancel_requested() {
  absl::MutexLock lock(&mu_);
  return cancel_ != nullptr;
}

std::optional<std::string> LiveTask::CancelToRecord() {
  absl::MutexLock lock(&mu_);
  if (discarded_ || !created_) {
    ended_ = true;
    return std::nullopt;
  }
  return cancel_ != nullptr ? cancel_->reason : "cancelled";
}

LiveTask::Drop LiveTask::Dropped(bool shutting_down) {
  absl::MutexLock lock(&mu_);
  if (!created_ || discarded_ || ended_) return Drop::kNothing;
  if (cancel_ != nullptr) return Drop::kRecordCancel;  // even at shutdown
  if (shutting_down) return Drop::kLeaveUnfinished;
  cancel_ = std::make_unique<CancelRequest>();
  cancel_->reason = "the executor dropped the task";
  return Drop::kRecordCancel;
}

std::vector<CancelCallback> LiveTask::Ended() {
  std::vector<CancelCallback> waiters;
  absl::MutexLock lock(&mu_);
  ended_ = true;
  if (cancel_ != nullptr) waiters.swap(cancel_->waiters);
  return waiters;
}

std::vector<CancelCallback> LiveTask::Abandon() {
  std::vector<CancelCallback> waiters;
  Waker to_wake;
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return waiters;
    abandoned_.store(true, std::memory_order_release);
    // Ended here, though not recorded: RequestCancel refuses (the cancel
    // goes to the task's new owner), Dropped and CancelToRecord record
    // nothing (discarded), and the next poll ends the future (cancel_).
    ended_ = true;
    discarded_ = true;
    if (cancel_ == nullptr) {
      cancel_ = std::make_unique<CancelRequest>();
      cancel_->reason = "its lease was lost";
    }
    waiters.swap(cancel_->waiters);
    to_wake = waker_;
  }
  std::move(to_wake).Wake();
  return waiters;
}

void LiveTask::ProgressQueued() {
  absl::MutexLock lock(&mu_);
  ++progress_in_flight_;
}

void LiveTask::ProgressStored() {
  Waker to_wake;
  {
    absl::MutexLock lock(&mu_);
    if (--progress_in_flight_ == 0 && waits_for_write_) {
      waits_for_write_ = false;
      to_wake = waker_;
    }
  }
  std::move(to_wake).Wake();
}

bool LiveTask::WaitForProgressWrite() {
  absl::MutexLock lock(&mu_);
  if (progress_in_flight_ == 0) return false;
  waits_for_write_ = true;
  return true;
}

}  // namespace corosched::server
