#include "client/work_queue_runner.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/status.h"

namespace corosched {
namespace {

// The most items one credit message or one poll may ask for.
constexpr int kMaxItemsPerRequest = 100;

}  // namespace

WorkerShared::WorkerShared(
    const std::shared_ptr<grpc::ChannelInterface>& channel, CallHeaders headers,
    WorkerOptions worker_options)
    : options(std::move(worker_options)),
      calls(channel, std::move(headers), options, &hard_stop),
      heartbeats(calls,
                 [this](const absl::Status& status) { ReportError(status); }) {}

void WorkerShared::ReportError(const absl::Status& status) const {
  if (options.on_error) options.on_error(status);
}

WorkQueueRunner::WorkQueueRunner(std::string queue, int concurrency,
                                 WorkHandler handler, WorkerShared& shared)
    : queue_(std::move(queue)),
      concurrency_(concurrency),
      handler_(std::move(handler)),
      shared_(shared) {}

WorkQueueRunner::~WorkQueueRunner() = default;

void WorkQueueRunner::Start() {
  receiver_ = std::thread([this] {
    if (shared_.options.transport == WorkerOptions::Transport::kPoll) {
      ReceivePoll();
    } else {
      ReceiveStream();
    }
    absl::MutexLock lock(&mu_);
    receiver_done_ = true;
  });
  handlers_.reserve(concurrency_);
  for (int i = 0; i < concurrency_; ++i) {
    handlers_.emplace_back([this] { HandleLoop(); });
  }
}

void WorkQueueRunner::BeginStop(bool hard) {
  absl::MutexLock write_lock(&write_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (hard) {
      hard_ = true;
      for (auto& [key, lease] : running_) lease->RequestCancel();
    }
    // A poll is cancelled at once (the daemon takes back items it had not
    // answered); a stream only on a hard stop (items on the wire are then
    // left to their deadlines).
    const bool cancel =
        hard || shared_.options.transport == WorkerOptions::Transport::kPoll;
    if (cancel && call_ != nullptr) call_->TryCancel();
  }
  if (stream_ != nullptr && !writes_done_) {
    writes_done_ = true;
    stream_->WritesDone();
  }
}

void WorkQueueRunner::Join() {
  {
    absl::MutexLock lock(&mu_);
    // A daemon that does not end a half-closed stream in time gets it
    // cancelled.
    if (!mu_.AwaitWithTimeout(absl::Condition(&receiver_done_),
                              shared_.options.call_timeout) &&
        call_ != nullptr) {
      call_->TryCancel();
    }
  }
  if (receiver_.joinable()) receiver_.join();
  for (std::thread& handler : handlers_) handler.join();
  handlers_.clear();
}

// --- receiving ---

void WorkQueueRunner::Deliver(v1::WorkItem item, bool used_credit) {
  auto lease = std::make_shared<WorkLease>(std::move(item));
  absl::MutexLock lock(&mu_);
  ++held_;
  if (used_credit) --credit_;
  pending_.push_back(std::move(lease));
}

bool WorkQueueRunner::WaitBackoff(int failures) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                       Backoff(failures, shared_.options.retry_backoff,
                               shared_.options.max_retry_backoff));
  return !stopping_;
}

void WorkQueueRunner::TopUpCredit() {
  int grant = 0;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || stream_ == nullptr || writes_done_) return;
    grant =
        std::min(concurrency_ - held_ - credit_, kMaxItemsPerRequest - credit_);
    if (grant <= 0) return;
    credit_ += grant;
  }
  v1::WorkStreamRequest request;
  request.mutable_credit()->set_items(grant);
  // A broken stream: Read will say why, and the next stream starts afresh.
  (void)stream_->Write(request);
}

void WorkQueueRunner::ReceiveStream() {
  int failures = 0;
  for (;;) {
    bool delivered = false;
    grpc::Status status = RunStream(&delivered);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    failures = delivered ? 1 : failures + 1;
    shared_.ReportError(absl::Status(
        status.ok() ? absl::StatusCode::kUnavailable
                    : FromGrpcStatus(status).code(),
        absl::StrCat("work stream of queue ", queue_,
                     status.ok() ? " ended by the daemon"
                                 : " broke: " + status.error_message(),
                     "; reopening")));
    if (!WaitBackoff(failures)) return;
  }
}

grpc::Status WorkQueueRunner::RunStream(bool* delivered) {
  grpc::ClientContext context;
  shared_.calls.AddHeaders(&context);
  std::unique_ptr<Stream> stream = shared_.calls.stub().WorkStream(&context);
  {
    absl::MutexLock write_lock(&write_mu_);
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      stopping = stopping_;
      credit_ = 0;  // the last stream's credit died with it
      call_ = &context;
    }
    writes_done_ = stopping;
    if (stopping) {
      stream->WritesDone();
    } else {
      v1::WorkStreamRequest open;
      open.mutable_open()->set_queue(queue_);
      open.mutable_open()->set_worker_identity(shared_.options.identity);
      (void)stream->Write(open);
      stream_ = stream.get();
      TopUpCredit();
    }
  }
  v1::WorkStreamResponse response;
  while (stream->Read(&response)) {
    *delivered = true;
    Deliver(std::move(*response.mutable_item()), /*used_credit=*/true);
    absl::MutexLock write_lock(&write_mu_);
    TopUpCredit();
  }
  {
    absl::MutexLock write_lock(&write_mu_);
    stream_ = nullptr;
  }
  grpc::Status status = stream->Finish();
  absl::MutexLock lock(&mu_);
  call_ = nullptr;
  return status;
}

void WorkQueueRunner::ReceivePoll() {
  int failures = 0;
  for (;;) {
    grpc::ClientContext context;
    shared_.calls.AddHeaders(&context);
    v1::PollWorkRequest request;
    request.set_queue(queue_);
    request.set_worker_identity(shared_.options.identity);
    const absl::Duration wait = shared_.options.poll_wait;
    request.mutable_wait()->set_seconds(absl::ToInt64Seconds(wait));
    request.mutable_wait()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(wait % absl::Seconds(1))));
    shared_.calls.SetDeadline(&context, wait);
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &WorkQueueRunner::HasFreeSlotOrStop));
      if (stopping_) return;
      request.set_max_items(
          std::min(concurrency_ - held_, kMaxItemsPerRequest));
      call_ = &context;
    }
    v1::PollWorkResponse response;
    grpc::Status status =
        shared_.calls.stub().PollWork(&context, request, &response);
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      call_ = nullptr;
      stopping = stopping_;
    }
    for (v1::WorkItem& item : *response.mutable_items()) {
      Deliver(std::move(item), /*used_credit=*/false);
    }
    if (status.ok()) {
      failures = 0;
      continue;
    }
    if (stopping) return;
    shared_.ReportError(absl::Status(
        FromGrpcStatus(status).code(),
        absl::StrCat("poll of queue ", queue_,
                     " failed: ", status.error_message(), "; polling again")));
    if (!WaitBackoff(++failures)) return;
  }
}

// --- handling ---

bool WorkQueueRunner::HasFreeSlotOrStop() const {
  return stopping_ || held_ < concurrency_;
}

bool WorkQueueRunner::HasWorkOrDone() const {
  return !pending_.empty() || (stopping_ && receiver_done_);
}

void WorkQueueRunner::HandleLoop() {
  for (;;) {
    std::shared_ptr<WorkLease> lease;
    bool hard = false;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &WorkQueueRunner::HasWorkOrDone));
      if (pending_.empty()) return;
      lease = std::move(pending_.front());
      pending_.pop_front();
      hard = hard_;
      if (!hard) running_[lease.get()] = lease;
    }
    RunItem(lease, hard);
  }
}

void WorkQueueRunner::RunItem(const std::shared_ptr<WorkLease>& lease,
                              bool hard) {
  shared_.heartbeats.Add(lease);
  absl::StatusOr<google::protobuf::Value> result;
  if (hard) {
    result = WorkError("worker_stopped",
                       "the worker stopped before the item started");
  } else {
    WorkContext context(lease);
    result = CallHandler(context);
    absl::MutexLock lock(&mu_);
    running_.erase(lease.get());
  }
  if (lease->lost()) {
    shared_.lease_lost.fetch_add(1, std::memory_order_relaxed);
  } else {
    Answer(*lease, result);
  }
  shared_.heartbeats.Remove(lease.get());
  SlotFreed();
}

absl::StatusOr<google::protobuf::Value> WorkQueueRunner::CallHandler(
    WorkContext& context) {
  // Our code throws nothing, but a handler may: its exception fails the
  // item here, the one place handlers are called.
  try {
    return handler_(context);
  } catch (const std::exception& e) {
    return WorkError("handler_exception",
                     absl::StrCat("the handler threw: ", e.what()));
  } catch (...) {
    return WorkError("handler_exception",
                     "the handler threw something not a std::exception");
  }
}

void WorkQueueRunner::Answer(
    const WorkLease& lease,
    const absl::StatusOr<google::protobuf::Value>& result) {
  AnswerResult answer =
      result.ok()
          ? shared_.calls.Complete(lease, *result)
          : shared_.calls.Fail(lease, FailureFromStatus(result.status()));
  // Counters are statistics read alone: relaxed is enough.
  shared_.answers_retried.fetch_add(answer.retries, std::memory_order_relaxed);
  switch (answer.outcome) {
    case AnswerOutcome::kCompleted:
      shared_.completed.fetch_add(1, std::memory_order_relaxed);
      return;
    case AnswerOutcome::kFailed:
      shared_.failed.fetch_add(1, std::memory_order_relaxed);
      return;
    case AnswerOutcome::kLeaseLost:
    case AnswerOutcome::kGaveUp:
      break;
  }
  shared_.lease_lost.fetch_add(1, std::memory_order_relaxed);
  shared_.ReportError(
      absl::Status(answer.status.code(),
                   absl::StrCat("answer for task ", lease.item().task_id(),
                                " attempt ", lease.item().attempt(),
                                " not taken: ", answer.status.message())));
}

void WorkQueueRunner::SlotFreed() {
  absl::MutexLock write_lock(&write_mu_);
  {
    absl::MutexLock lock(&mu_);
    --held_;
  }
  TopUpCredit();
}

}  // namespace corosched
