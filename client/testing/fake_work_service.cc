#include "client/testing/fake_work_service.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace corosched::testing {
namespace {

google::protobuf::Timestamp ToProto(absl::Time time) {
  google::protobuf::Timestamp proto;
  const int64_t nanos = absl::ToUnixNanos(time);
  proto.set_seconds(nanos / 1000000000);
  proto.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return proto;
}

grpc::Status LeaseEnded(const std::string& token) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      absl::StrCat("token ", token, " names no current lease"));
}

}  // namespace

template <typename Ready>
bool FakeWorkService::WaitUntil(Ready ready, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](Ready* r) { return (*r)(); }, &ready),
                              timeout);
}

std::string FakeWorkService::Enqueue(const std::string& queue,
                                     const std::string& task_id,
                                     google::protobuf::Value input,
                                     absl::Duration heartbeat,
                                     absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  std::string token = absl::StrCat("tok-", ++next_token_);
  Lease& lease = leases_[token];
  lease.item.set_token(token);
  lease.item.set_task_id(task_id);
  lease.item.set_attempt(1);
  lease.item.set_queue(queue);
  *lease.item.mutable_input() = std::move(input);
  *lease.item.mutable_scheduled_at() = ToProto(absl::Now());
  lease.heartbeat = heartbeat;
  lease.timeout = timeout;
  queued_[queue].push_back(token);
  return token;
}

bool FakeWorkService::HasQueuedLocked(const std::string& queue) const {
  auto it = queued_.find(queue);
  return it != queued_.end() && !it->second.empty();
}

bool FakeWorkService::TakeLocked(const std::string& queue, v1::WorkItem* item) {
  if (!HasQueuedLocked(queue)) return false;
  std::deque<std::string>& tokens = queued_[queue];
  Lease& lease = leases_[tokens.front()];
  tokens.pop_front();
  const absl::Time now = absl::Now();
  lease.state = LeaseState::kLeased;
  *lease.item.mutable_started_at() = ToProto(now);
  if (lease.heartbeat > absl::ZeroDuration()) {
    *lease.item.mutable_heartbeat_deadline() = ToProto(now + lease.heartbeat);
  }
  if (lease.timeout > absl::ZeroDuration()) {
    *lease.item.mutable_timeout_deadline() = ToProto(now + lease.timeout);
  }
  *item = lease.item;
  ++delivered_;
  return true;
}

void FakeWorkService::RequestCancel(const std::string& token) {
  absl::MutexLock lock(&mu_);
  leases_[token].cancel_requested = true;
}

void FakeWorkService::EndLease(const std::string& token) {
  absl::MutexLock lock(&mu_);
  leases_[token].state = LeaseState::kEnded;
}

void FakeWorkService::RefuseNextAnswers(int count) {
  absl::MutexLock lock(&mu_);
  refuse_answers_ = count;
}

void FakeWorkService::LoseNextAnswerReplies(int count) {
  absl::MutexLock lock(&mu_);
  lose_replies_ = count;
}

void FakeWorkService::BreakStreams() {
  absl::MutexLock lock(&mu_);
  for (auto& [state, context] : stream_contexts_) {
    state->broken = true;
    context->TryCancel();
  }
}

void FakeWorkService::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  for (auto& [state, context] : stream_contexts_) context->TryCancel();
}

std::vector<FakeWorkService::Answer> FakeWorkService::answers() const {
  absl::MutexLock lock(&mu_);
  return answers_;
}

std::vector<FakeWorkService::Heartbeat> FakeWorkService::heartbeats() const {
  absl::MutexLock lock(&mu_);
  return heartbeats_;
}

int FakeWorkService::delivered() const {
  absl::MutexLock lock(&mu_);
  return delivered_;
}

int FakeWorkService::answer_calls() const {
  absl::MutexLock lock(&mu_);
  return answer_calls_;
}

int FakeWorkService::streams_opened() const {
  absl::MutexLock lock(&mu_);
  return streams_opened_;
}

int FakeWorkService::polls() const {
  absl::MutexLock lock(&mu_);
  return polls_;
}

std::string FakeWorkService::last_identity() const {
  absl::MutexLock lock(&mu_);
  return last_identity_;
}

bool FakeWorkService::WaitForAnswers(size_t count,
                                     absl::Duration timeout) const {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return answers_.size() >= count; },
      timeout);
}

bool FakeWorkService::WaitForDelivered(int count,
                                       absl::Duration timeout) const {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return delivered_ >= count; },
      timeout);
}

bool FakeWorkService::WaitForHeartbeats(const std::string& token, int count,
                                        absl::Duration timeout) const {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        int seen = 0;
        for (const Heartbeat& beat : heartbeats_) seen += beat.token == token;
        return seen >= count;
      },
      timeout);
}

bool FakeWorkService::WaitForStreamsOpened(int count,
                                           absl::Duration timeout) const {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return streams_opened_ >= count; },
      timeout);
}

bool FakeWorkService::WaitForReceiver(absl::Duration timeout) const {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return !streams_.empty() || waiting_polls_ > 0;
      },
      timeout);
}

bool FakeWorkService::WaitForNoReceiver(absl::Duration timeout) const {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return streams_.empty() && waiting_polls_ == 0;
      },
      timeout);
}

std::map<std::string, FakeWorkService::CallHeaders>
FakeWorkService::headers_seen() const {
  absl::MutexLock lock(&mu_);
  return headers_seen_;
}

void FakeWorkService::RecordHeaders(const std::string& method,
                                    const grpc::ServerContext& context) {
  auto header = [&context](absl::string_view name) {
    auto it = context.client_metadata().find(
        grpc::string_ref(name.data(), name.size()));
    return it == context.client_metadata().end()
               ? std::string()
               : std::string(it->second.data(), it->second.size());
  };
  CallHeaders seen{.authorization = header("authorization"),
                   .namespace_name = header("corosched-namespace")};
  absl::MutexLock lock(&mu_);
  headers_seen_[method] = std::move(seen);
}

// --- the RPCs ---

grpc::Status FakeWorkService::PollWork(grpc::ServerContext* context,
                                       const v1::PollWorkRequest* request,
                                       v1::PollWorkResponse* response) {
  RecordHeaders("PollWork", *context);
  const absl::Time end = absl::Now() +
                         absl::Seconds(request->wait().seconds()) +
                         absl::Nanoseconds(request->wait().nanos());
  const uint32_t max_items = std::max(request->max_items(), 1u);
  absl::MutexLock lock(&mu_);
  ++polls_;
  last_identity_ = request->worker_identity();
  ++waiting_polls_;
  // Short waits, so a cancelled poll is noticed promptly.
  struct Wake {
    const FakeWorkService* service;
    const std::string* queue;
  } wake{this, &request->queue()};
  const absl::Condition ready(
      +[](Wake* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return w->service->shutdown_ || w->service->HasQueuedLocked(*w->queue);
      },
      &wake);
  while (!HasQueuedLocked(request->queue()) && !shutdown_ &&
         !context->IsCancelled() && absl::Now() < end) {
    mu_.AwaitWithTimeout(ready, absl::Milliseconds(10));
  }
  --waiting_polls_;
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "poll cancelled");
  }
  v1::WorkItem item;
  while (response->items_size() < static_cast<int>(max_items) &&
         TakeLocked(request->queue(), &item)) {
    *response->add_items() = item;
  }
  return grpc::Status::OK;
}

grpc::Status FakeWorkService::WorkStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::WorkStreamResponse, v1::WorkStreamRequest>*
        stream) {
  RecordHeaders("WorkStream", *context);
  v1::WorkStreamRequest request;
  if (!stream->Read(&request) || !request.has_open()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "open: the first request opens the stream");
  }
  StreamState state;
  state.queue = request.open().queue();
  {
    absl::MutexLock lock(&mu_);
    ++streams_opened_;
    last_identity_ = request.open().worker_identity();
    streams_.insert(&state);
    stream_contexts_[&state] = context;
  }
  std::thread writer([&] { StreamWriter(&state, stream); });
  grpc::Status status = grpc::Status::OK;
  while (stream->Read(&request)) {
    if (!request.has_credit()) {
      status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "open: only the first request opens the stream");
      break;
    }
    absl::MutexLock lock(&mu_);
    state.credit = std::min(
        state.credit + static_cast<int>(request.credit().items()), 100);
  }
  {
    absl::MutexLock lock(&mu_);
    state.reads_done = true;
  }
  writer.join();
  absl::MutexLock lock(&mu_);
  streams_.erase(&state);
  stream_contexts_.erase(&state);
  if (state.broken) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken by the test");
  }
  return status;
}

void FakeWorkService::StreamWriter(
    StreamState* state,
    grpc::ServerReaderWriter<v1::WorkStreamResponse, v1::WorkStreamRequest>*
        stream) {
  struct Wake {
    const FakeWorkService* service;
    const StreamState* state;
  } wake{this, state};
  const absl::Condition ready(
      +[](Wake* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        const StreamState& s = *w->state;
        return s.reads_done || s.broken || w->service->shutdown_ ||
               (s.credit > 0 && w->service->HasQueuedLocked(s.queue));
      },
      &wake);
  for (;;) {
    v1::WorkStreamResponse response;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(ready);
      if (state->reads_done || state->broken || shutdown_) return;
      TakeLocked(state->queue, response.mutable_item());
      --state->credit;
    }
    if (!stream->Write(response)) return;
  }
}

grpc::Status FakeWorkService::AnswerLocked(Answer answer) {
  ++answer_calls_;
  if (refuse_answers_ > 0) {
    --refuse_answers_;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused by the test");
  }
  auto it = leases_.find(answer.token);
  if (it == leases_.end()) return LeaseEnded(answer.token);
  Lease& lease = it->second;
  switch (lease.state) {
    case LeaseState::kCompleted:
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "already completed: the first answer was taken");
    case LeaseState::kFailed:
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "already failed: the first answer was taken");
    case LeaseState::kLeased:
      break;
    case LeaseState::kQueued:
    case LeaseState::kEnded:
      return LeaseEnded(answer.token);
  }
  lease.state = answer.completed ? LeaseState::kCompleted : LeaseState::kFailed;
  answer.task_id = lease.item.task_id();
  answers_.push_back(std::move(answer));
  if (lose_replies_ > 0) {
    --lose_replies_;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "reply lost (test)");
  }
  return grpc::Status::OK;
}

grpc::Status FakeWorkService::CompleteWork(
    grpc::ServerContext* context, const v1::CompleteWorkRequest* request,
    v1::CompleteWorkResponse* /*response*/) {
  RecordHeaders("CompleteWork", *context);
  Answer answer;
  answer.token = request->token();
  answer.completed = true;
  answer.result = request->result();
  absl::MutexLock lock(&mu_);
  return AnswerLocked(std::move(answer));
}

grpc::Status FakeWorkService::FailWork(grpc::ServerContext* context,
                                       const v1::FailWorkRequest* request,
                                       v1::FailWorkResponse* /*response*/) {
  RecordHeaders("FailWork", *context);
  Answer answer;
  answer.token = request->token();
  answer.error = request->error();
  answer.message = request->message();
  answer.retryable = request->retryable();
  absl::MutexLock lock(&mu_);
  return AnswerLocked(std::move(answer));
}

grpc::Status FakeWorkService::HeartbeatWork(
    grpc::ServerContext* context, const v1::HeartbeatWorkRequest* request,
    v1::HeartbeatWorkResponse* response) {
  RecordHeaders("HeartbeatWork", *context);
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(request->token());
  if (it == leases_.end() || it->second.state != LeaseState::kLeased) {
    return LeaseEnded(request->token());
  }
  Heartbeat beat;
  beat.token = request->token();
  beat.has_details = request->has_details();
  beat.details = request->details();
  heartbeats_.push_back(std::move(beat));
  response->set_cancel_requested(it->second.cancel_requested);
  if (it->second.heartbeat > absl::ZeroDuration()) {
    *response->mutable_heartbeat_deadline() =
        ToProto(absl::Now() + it->second.heartbeat);
  }
  return grpc::Status::OK;
}

// --- FakeWorkServer ---

FakeWorkServer::FakeWorkServer() {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    ADD_FAILURE() << "the fake work server did not start on 127.0.0.1:0";
  }
}

FakeWorkServer::~FakeWorkServer() {
  if (server_ == nullptr) return;
  service_.Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  server_->Wait();
}

std::shared_ptr<grpc::Channel> FakeWorkServer::NewChannel() const {
  return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

std::string FakeWorkServer::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

}  // namespace corosched::testing
