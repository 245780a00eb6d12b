#include "server/grpc/submit_stream.h"

#include <utility>

#include "server/grpc/grpc_status.h"

namespace corosched::server {

grpc::ServerBidiReactor<ParsedRequest<v1::SubmitTaskRequest>,
                        v1::SubmitTasksResponse>*
SubmitStream::Start(TaskService& tasks, StreamHub& hub, CallScope scope) {
  std::shared_ptr<SubmitStream> stream(
      new SubmitStream(tasks, hub, std::move(scope)));
  stream->self_ = stream;
  std::optional<StreamHub::Token> token =
      hub.Add("", std::weak_ptr<OpenStream>(stream));
  if (!token.has_value()) {
    stream->OnShutdown();
    return stream.get();
  }
  {
    absl::MutexLock lock(&stream->mu_);
    stream->token_ = token;
    stream->reading_ = true;
  }
  stream->StartRead(&stream->request_);
  return stream.get();
}

void SubmitStream::Submit(uint64_t index) {
  std::shared_ptr<SubmitStream> self = self_;  // until the answer is in
  auto answer = [self = std::move(self),
                 index](absl::StatusOr<v1::SubmitTaskResponse> result) {
    v1::SubmitTasksResponse answer;
    answer.set_index(index);
    if (result.ok()) {
      *answer.mutable_response() = *std::move(result);
    } else {
      grpc::Status status = ToGrpcStatus(result.status());
      answer.set_code(status.error_code());
      answer.set_message(status.error_message());
    }
    self->Answered(index, std::move(answer));
  };
  if (!request_.status.ok()) {
    answer(request_.status);
    return;
  }
  tasks_.SubmitTask(scope_.namespace_name, request_.message, std::move(answer));
}

void SubmitStream::Answered(uint64_t index, v1::SubmitTasksResponse answer) {
  const v1::SubmitTasksResponse* write = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || index < first_index_) return;
    answers_[index - first_index_].answer = std::move(answer);
    write = NextWrite();
  }
  if (write != nullptr) StartWrite(write);
}

const v1::SubmitTasksResponse* SubmitStream::NextWrite() {
  if (writing_ || finished_ || finish_after_write_.has_value() ||
      answers_.empty() || !answers_.front().answer.has_value()) {
    return nullptr;
  }
  writing_ = true;
  return &*answers_.front().answer;
}

bool SubmitStream::ShouldRead() const {
  return !reading_ && !reads_done_ && !finished_ &&
         !finish_after_write_.has_value() && answers_.size() < kMaxQueued;
}

void SubmitStream::OnReadDone(bool ok) {
  uint64_t index = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!ok || finished_) reading_ = false;
    if (finished_) return;
    if (!ok) {
      reads_done_ = true;
      // With answers still to write, OnWriteDone finishes after the last.
      if (writing_ || !answers_.empty()) return;
      finished_ = true;
    } else {
      index = next_index_++;
      answers_.push_back(Slot{index, std::nullopt});
    }
  }
  if (!ok) {
    Finish(grpc::Status::OK);  // half-closed and every answer written
    return;
  }
  // reading_ stays true while request_ is submitted, so OnWriteDone does
  // not start the next read into it meanwhile. The answer may arrive (and
  // be written) before Submit returns.
  Submit(index);
  bool read = false;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (finished_) return;
    read = ShouldRead();
    reading_ = read;
  }
  if (read) StartRead(&request_);
}

void SubmitStream::OnWriteDone(bool ok) {
  const v1::SubmitTasksResponse* write = nullptr;
  std::optional<grpc::Status> finish_with;
  bool read = false;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    answers_.pop_front();
    ++first_index_;
    if (!ok && !finish_after_write_.has_value()) {
      finish_after_write_ =
          grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    }
    if (finished_) return;
    if (finish_after_write_.has_value()) {
      finished_ = true;
      finish_with = std::move(finish_after_write_);
    } else if (answers_.empty() && reads_done_) {
      finished_ = true;
      finish_with = grpc::Status::OK;
    } else {
      write = NextWrite();
    }
    read = ShouldRead();
    reading_ = reading_ || read;
  }
  if (finish_with.has_value()) {
    Finish(*std::move(finish_with));
    return;
  }
  if (write != nullptr) StartWrite(write);
  if (read) StartRead(&request_);
}

void SubmitStream::RequestFinish(grpc::Status status) {
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

void SubmitStream::OnCancel() {
  RequestFinish(grpc::Status(grpc::StatusCode::CANCELLED,
                             "the submission stream was cancelled"));
}

void SubmitStream::OnShutdown() {
  RequestFinish(grpc::Status(
      grpc::StatusCode::UNAVAILABLE,
      "the daemon is shutting down; submit the rest once it is back"));
}

void SubmitStream::OnDone() {
  std::optional<StreamHub::Token> token;
  {
    absl::MutexLock lock(&mu_);
    token = token_;
  }
  if (token.has_value()) hub_.Remove(*token);
  std::shared_ptr<SubmitStream> self = std::move(self_);
  // `self` may be the last owner: nothing touches members after this.
}

}  // namespace corosched::server
