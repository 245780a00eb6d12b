#include "server/grpc/work_reactors.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/machine/proto_time.h"
#include "grpcpp/server_context.h"
#include "server/grpc/grpc_status.h"
#include "server/store/namespace_keys.h"
#include "server/work/work_checks.h"

namespace corosched::server {

v1::WorkItem ToWorkItem(const WorkLease& lease) {
  const LeaseRecord& record = lease.record;
  v1::WorkItem item;
  item.set_token(lease.token);
  item.set_task_id(std::string(LocalName(record.task_id)));
  item.set_attempt(record.attempt);
  item.set_queue(std::string(LocalName(record.queue)));
  *item.mutable_input() = lease.input;
  *item.mutable_scheduled_at() = machine::ToProtoTimestamp(record.scheduled_at);
  *item.mutable_started_at() = machine::ToProtoTimestamp(record.started_at);
  if (record.heartbeat_deadline != absl::InfiniteFuture()) {
    *item.mutable_heartbeat_deadline() =
        machine::ToProtoTimestamp(record.heartbeat_deadline);
  }
  if (record.timeout_deadline != absl::InfiniteFuture()) {
    *item.mutable_timeout_deadline() =
        machine::ToProtoTimestamp(record.timeout_deadline);
  }
  return item;
}

// --- PollWork ---

grpc::ServerUnaryReactor* PollWorkReactor::Start(
    grpc::CallbackServerContext* context, TaskRunner& runner,
    const CallScope& scope, const v1::PollWorkRequest& request,
    v1::PollWorkResponse* response) {
  std::shared_ptr<PollWorkReactor> reactor(
      new PollWorkReactor(context, runner, scope, response));
  reactor->self_ = reactor;
  if (absl::Status queue = ValidateQueueName(request.queue()); !queue.ok()) {
    reactor->FinishOnce(ToGrpcStatus(queue));
    return reactor.get();
  }
  absl::StatusOr<absl::Duration> wait =
      machine::FromProtoDuration(request.wait());
  if (!wait.ok()) {
    reactor->FinishOnce(ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("wait: ", wait.status().message()))));
    return reactor.get();
  }
  WorkQueues::PollRequest poll{
      .queue = NamespacedKey(scope.namespace_name, request.queue()),
      .worker_identity = request.worker_identity(),
      .max_items = request.max_items(),
      .wait = *wait};
  absl::StatusOr<WorkQueues::ConsumerId> parked = runner.work_queues().Poll(
      std::move(poll), [reactor](std::vector<WorkLease> leases) {
        reactor->Answered(std::move(leases));
      });
  if (!parked.ok()) {
    reactor->FinishOnce(ToGrpcStatus(parked.status()));
    return reactor.get();
  }
  {
    absl::MutexLock lock(&reactor->mu_);
    if (!reactor->finished_) reactor->parked_ = *parked;
  }
  // A client that left before the poll was parked: OnCancel found nothing
  // to remove.
  if (context->IsCancelled()) reactor->OnCancel();
  return reactor.get();
}

void PollWorkReactor::OnCancel() {
  std::optional<WorkQueues::ConsumerId> parked;
  {
    absl::MutexLock lock(&mu_);
    parked.swap(parked_);
  }
  if (parked.has_value() && runner_.work_queues().CancelWait(*parked)) {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED,
                            "the client cancelled the poll"));
  }
  // Otherwise the poll was answered: Answered finishes the call.
}

void PollWorkReactor::OnDone() { self_.reset(); }

void PollWorkReactor::Answered(std::vector<WorkLease> leases) {
  {
    absl::MutexLock lock(&mu_);
    parked_.reset();
  }
  if (leases.empty()) {
    FinishOnce(grpc::Status::OK);
    return;
  }
  runner_.StoreLeases(
      std::move(leases), [self = self_](std::vector<WorkLease> stored) {
        bool gone = self->context_->IsCancelled();
        {
          absl::MutexLock lock(&self->mu_);
          gone = gone || self->finished_;
          if (!gone) {
            for (const WorkLease& lease : stored) {
              *self->response_->add_items() = ToWorkItem(lease);
            }
          }
        }
        if (gone) {
          // Race A of work_queues.h: the worker never sees these tokens.
          for (const WorkLease& lease : stored) {
            (void)self->runner_.work_queues().ReturnUndelivered(lease.token);
          }
          self->FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED,
                                        "the client went away"));
          return;
        }
        self->FinishOnce(grpc::Status::OK);
      });
}

void PollWorkReactor::FinishOnce(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
  }
  Finish(status);
}

// --- WorkStream ---

grpc::ServerBidiReactor<ParsedRequest<v1::WorkStreamRequest>,
                        v1::WorkStreamResponse>*
WorkStreamReactor::Start(TaskRunner& runner, CallScope scope) {
  std::shared_ptr<WorkStreamReactor> reactor(
      new WorkStreamReactor(runner, std::move(scope)));
  reactor->self_ = reactor;
  reactor->StartRead(&reactor->request_);
  return reactor.get();
}

void WorkStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    // Half-close or a broken stream: items written stay with the worker.
    End(grpc::Status::OK);
    return;
  }
  if (absl::Status handled = Handle(); !handled.ok()) {
    End(ToGrpcStatus(handled));
    return;
  }
  StartRead(&request_);
}

absl::Status WorkStreamReactor::Handle() {
  if (!request_.status.ok()) return request_.status;
  const v1::WorkStreamRequest& request = request_.message;
  std::optional<WorkQueues::ConsumerId> consumer;
  {
    absl::MutexLock lock(&mu_);
    consumer = consumer_;
  }
  switch (request.kind_case()) {
    case v1::WorkStreamRequest::kOpen: {
      if (consumer.has_value()) {
        return absl::InvalidArgumentError(
            "open: only the stream's first request opens it; send credit");
      }
      absl::Status queue = ValidateQueueName(request.open().queue());
      if (!queue.ok()) return queue;
      absl::StatusOr<WorkQueues::ConsumerId> opened =
          runner_.work_queues().OpenStream(
              NamespacedKey(scope_.namespace_name, request.open().queue()),
              request.open().worker_identity(),
              [self = shared_from_this()](WorkLease lease) {
                self->Leased(std::move(lease));
              });
      if (!opened.ok()) return opened.status();
      absl::MutexLock lock(&mu_);
      consumer_ = *opened;
      return absl::OkStatus();
    }
    case v1::WorkStreamRequest::kCredit:
      if (!consumer.has_value()) {
        return absl::InvalidArgumentError(
            "credit: open the stream on a queue first");
      }
      return runner_.work_queues().AddCredit(*consumer,
                                             request.credit().items());
    case v1::WorkStreamRequest::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "the request sets neither `open` nor `credit`");
}

void WorkStreamReactor::Leased(WorkLease lease) {
  bool ending = false;
  {
    absl::MutexLock lock(&mu_);
    ending = ending_.has_value();
    if (!ending) ++storing_;
  }
  if (ending) {
    // Race B of work_queues.h: sent after the stream was removed.
    (void)runner_.work_queues().ReturnUndelivered(lease.token);
    return;
  }
  std::vector<WorkLease> leases;
  leases.push_back(std::move(lease));
  runner_.StoreLeases(std::move(leases), [self = shared_from_this()](
                                             std::vector<WorkLease> stored) {
    self->Stored(std::move(stored));
  });
}

void WorkStreamReactor::Stored(std::vector<WorkLease> leases) {
  const v1::WorkStreamResponse* write = nullptr;
  std::optional<grpc::Status> finish;
  std::vector<std::string> to_return;
  {
    absl::MutexLock lock(&mu_);
    --storing_;
    for (WorkLease& lease : leases) {
      if (ending_.has_value()) {
        to_return.push_back(std::move(lease.token));
        continue;
      }
      v1::WorkStreamResponse response;
      *response.mutable_item() = ToWorkItem(lease);
      outbox_.emplace_back(std::move(lease.token), std::move(response));
    }
    write = NextWrite();
    if (write == nullptr && ending_.has_value() && !writing_ && storing_ == 0 &&
        !finished_) {
      finished_ = true;
      finish = *ending_;
    }
  }
  for (const std::string& token : to_return) {
    (void)runner_.work_queues().ReturnUndelivered(token);
  }
  if (write != nullptr) StartWrite(write);
  if (finish.has_value()) Finish(*finish);
}

const v1::WorkStreamResponse* WorkStreamReactor::NextWrite() {
  if (writing_ || outbox_.empty() || ending_.has_value()) return nullptr;
  writing_ = true;
  return &outbox_.front().second;
}

void WorkStreamReactor::OnWriteDone(bool ok) {
  const v1::WorkStreamResponse* write = nullptr;
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    // Written or not, the item is the worker's now: if the stream broke,
    // its lease ends by its deadlines.
    outbox_.pop_front();
    if (!ok && !ending_.has_value()) {
      ending_ = grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke");
    }
    write = NextWrite();
    if (write == nullptr && ending_.has_value() && storing_ == 0 &&
        !finished_) {
      finished_ = true;
      finish = *ending_;
    }
  }
  if (write != nullptr) StartWrite(write);
  if (finish.has_value()) Finish(*finish);
}

void WorkStreamReactor::OnCancel() {
  End(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
}

void WorkStreamReactor::End(grpc::Status status) {
  std::optional<WorkQueues::ConsumerId> consumer;
  std::vector<std::string> to_return;
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    if (!ending_.has_value()) ending_ = std::move(status);
    consumer.swap(consumer_);
    // Not yet written (the front is, while writing_): back to the queues.
    while (outbox_.size() > (writing_ ? 1u : 0u)) {
      to_return.push_back(std::move(outbox_.back().first));
      outbox_.pop_back();
    }
    if (!writing_ && storing_ == 0 && !finished_) {
      finished_ = true;
      finish = *ending_;
    }
  }
  if (consumer.has_value()) runner_.work_queues().CancelWait(*consumer);
  for (const std::string& token : to_return) {
    (void)runner_.work_queues().ReturnUndelivered(token);
  }
  if (finish.has_value()) Finish(*finish);
}

void WorkStreamReactor::OnDone() {
  End(grpc::Status::OK);  // removes the consumer if still there
  self_.reset();
}

}  // namespace corosched::server
