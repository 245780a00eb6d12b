#include "server/grpc/watch_reactor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/grpc/grpc_status.h"
#include "server/tasks/request_checks.h"

namespace corosched::server {
namespace {

// Events read from the store at a time.
constexpr int kReadBatch = 64;

}  // namespace

grpc::ServerWriteReactor<v1::TaskEvent>* WatchReactor::Start(
    TaskStore& store, StreamHub& hub, CallScope scope,
    const v1::WatchTaskRequest& request, const WatchPolling* polling) {
  std::shared_ptr<WatchReactor> reactor(
      new WatchReactor(store, hub, std::move(scope), request, polling));
  reactor->self_ = reactor;
  reactor->weak_self_ = reactor;
  if (absl::Status id = CheckLookupId(request.task_id()); !id.ok()) {
    reactor->RequestFinish(ToGrpcStatus(id));
    return reactor.get();
  }
  // Follow first, then read: see StreamHub's ordering note.
  std::optional<StreamHub::Token> token =
      hub.Add(reactor->task_id_, std::weak_ptr<OpenStream>(reactor));
  if (!token.has_value()) {
    reactor->OnShutdown();
    return reactor.get();
  }
  {
    absl::MutexLock lock(&reactor->mu_);
    reactor->token_ = token;
  }
  reactor->Pump();
  return reactor.get();
}

grpc::Status WatchReactor::DroppedEvents(uint64_t after, uint64_t first_kept) {
  return grpc::Status(
      grpc::StatusCode::OUT_OF_RANGE,
      absl::StrCat("events ", after + 1, " to ", first_kept - 1,
                   " of this task were dropped: the daemon keeps the last "
                   "--task-max-events of each task's log; watch again with "
                   "after_sequence ",
                   first_kept - 1, " to read from the first kept event"));
}

void WatchReactor::Pump() {
  bool write = false;
  bool caught_up = false;
  grpc::Status finish_with;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || writing_) return;
    if (pending_.empty()) {
      absl::StatusOr<EventBatch> batch =
          store_.ReadEvents(task_id_, after_, kReadBatch);
      if (!batch.ok()) {
        finish_with = ToGrpcStatus(WithLocalName(batch.status(), task_id_));
      } else if (!batch->events.empty() &&
                 batch->events.front().sequence() > after_ + 1) {
        finish_with = DroppedEvents(after_, batch->events.front().sequence());
      } else {
        for (v1::TaskEvent& event : batch->events) {
          pending_.push_back(std::move(event));
        }
        caught_up = pending_.empty() && !batch->task_ended;
      }
    }
    if (caught_up) {
      // Nothing new: the hub says when there is, and the timer looks too
      // (scheduled below, outside mu_) in case another daemon writes it.
      if (polling_ == nullptr || poll_pending_) return;
      poll_pending_ = true;
    } else if (pending_.empty()) {
      finished_ = true;  // after an error, or past the task's last event
    } else {
      in_flight_ = std::move(pending_.front());
      pending_.pop_front();
      after_ = in_flight_.sequence();
      writing_ = write = true;
    }
  }
  if (caught_up) {
    SchedulePoll();
  } else if (write) {
    StartWrite(&in_flight_);
  } else {
    Finish(std::move(finish_with));
  }
}

void WatchReactor::SchedulePoll() {
  polling_->timer->After(polling_->interval, [weak = weak_self_](bool due) {
    std::shared_ptr<WatchReactor> reactor = weak.lock();
    // Not due: the daemon stops, and the hub's
    // OnShutdown finishes the stream.
    if (reactor != nullptr && due) reactor->PollDue();
  });
}

void WatchReactor::PollDue() {
  // Live here: the hub publishes its writes, and the timer only looks again
  // later, in case it moves to another daemon. Otherwise the store is read
  // (and Pump schedules the next look once caught up).
  const bool here = polling_->runs_here(task_id_);
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (!here) poll_pending_ = false;
  }
  if (here) {
    SchedulePoll();
  } else {
    Pump();
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  std::optional<grpc::Status> finish_with;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok && !finish_after_write_.has_value()) {
      finish_after_write_ =
          grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away");
    }
    if (finish_after_write_.has_value() && !finished_) {
      finished_ = true;
      finish_with = std::move(finish_after_write_);
    }
  }
  if (finish_with.has_value()) {
    Finish(*std::move(finish_with));
  } else {
    Pump();
  }
}

void WatchReactor::RequestFinish(grpc::Status status) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (writing_) {
      if (!finish_after_write_.has_value()) {
        finish_after_write_ = std::move(status);
      }
      return;
    }
    finished_ = true;
  }
  Finish(std::move(status));
}

void WatchReactor::OnCancel() {
  RequestFinish(
      grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
}

void WatchReactor::OnShutdown() {
  uint64_t after;
  {
    absl::MutexLock lock(&mu_);
    after = after_;
  }
  RequestFinish(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   absl::StrCat("the daemon is shutting down; watch again with "
                                "after_sequence=",
                                after, " once it is back")));
}

void WatchReactor::OnDone() {
  std::optional<StreamHub::Token> token;
  {
    absl::MutexLock lock(&mu_);
    token = token_;
  }
  if (token.has_value()) hub_.Remove(*token);
  std::shared_ptr<WatchReactor> self = std::move(self_);
  // `self` may be the last owner: nothing touches members after this.
}

}  // namespace corosched::server
