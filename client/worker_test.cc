#include "client/worker.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "client/testing/fake_work_service.h"
#include "client/work_error.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using testing::FakeWorkServer;
using testing::FakeWorkService;
using Transport = WorkerOptions::Transport;

// Every wait in these tests is bounded by this; none is a sleep.
constexpr absl::Duration kWait = absl::Seconds(15);

google::protobuf::Value Text(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  return value;
}

google::protobuf::Value Number(double number) {
  google::protobuf::Value value;
  value.set_number_value(number);
  return value;
}

WorkerOptions FastOptions(Transport transport) {
  WorkerOptions options;
  options.transport = transport;
  options.poll_wait = absl::Seconds(5);
  options.call_timeout = absl::Seconds(5);
  options.retry_backoff = absl::Milliseconds(5);
  options.max_retry_backoff = absl::Milliseconds(50);
  return options;
}

// Echoes the input as the result.
absl::StatusOr<google::protobuf::Value> Echo(WorkContext& work) {
  return work.input();
}

class WorkerTransportTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }
  FakeWorkService& fake() { return server_.service(); }
  std::unique_ptr<Worker> NewWorker() {
    return std::make_unique<Worker>(server_.NewChannel(),
                                    FastOptions(GetParam()));
  }

  FakeWorkServer server_;
};

INSTANTIATE_TEST_SUITE_P(Transports, WorkerTransportTest,
                         ::testing::Values(Transport::kStream,
                                           Transport::kPoll),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::kStream ? "Stream"
                                                                   : "Poll";
                         });

TEST_P(WorkerTransportTest, CompletesItemsWithTheHandlersResult) {
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker->Handle("jobs", 2, Echo).ok());
  ASSERT_TRUE(worker->Start().ok());
  fake().Enqueue("jobs", "task-1", Text("one"));
  fake().Enqueue("jobs", "task-2", Number(2));
  ASSERT_TRUE(fake().WaitForAnswers(2, kWait));
  worker->Stop();

  std::vector<FakeWorkService::Answer> answers = fake().answers();
  ASSERT_EQ(answers.size(), 2u);
  std::sort(answers.begin(), answers.end(),
            [](const auto& a, const auto& b) { return a.task_id < b.task_id; });
  EXPECT_TRUE(answers[0].completed);
  EXPECT_EQ(answers[0].result.string_value(), "one");
  EXPECT_EQ(answers[1].result.number_value(), 2);
  EXPECT_EQ(worker->counters().completed, 2u);
  EXPECT_EQ(worker->counters().failed, 0u);
}

TEST_P(WorkerTransportTest, ConcurrencyNeverExceedsTheLimit) {
  constexpr int kConcurrency = 3;
  constexpr int kItems = 8;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<bool> full_seen{false};
  absl::Notification full;
  absl::Notification release;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("jobs", kConcurrency,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             const int now = ++running;
                             int seen = most.load();
                             while (now > seen &&
                                    !most.compare_exchange_weak(seen, now)) {
                             }
                             if (now == kConcurrency &&
                                 !full_seen.exchange(true)) {
                               full.Notify();
                             }
                             release.WaitForNotificationWithTimeout(kWait);
                             --running;
                             return work.input();
                           })
                  .ok());
  for (int i = 0; i < kItems; ++i) {
    fake().Enqueue("jobs", "task-" + std::to_string(i), Number(i));
  }
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(full.WaitForNotificationWithTimeout(kWait));
  // Every slot is busy: the worker asked for no more items than it has
  // slots.
  EXPECT_EQ(fake().delivered(), kConcurrency);
  release.Notify();
  ASSERT_TRUE(fake().WaitForAnswers(kItems, kWait));
  worker->Stop();
  EXPECT_EQ(most.load(), kConcurrency);
  EXPECT_EQ(worker->counters().completed, static_cast<uint64_t>(kItems));
}

TEST_P(WorkerTransportTest, ConcurrencyAboveOneHundredIsReached) {
  // A stream holds at most 100 unused credits and a poll takes at most 100
  // items: the rest comes as items arrive.
  constexpr int kConcurrency = 150;
  std::atomic<int> running{0};
  absl::Notification full;
  absl::Notification release;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("jobs", kConcurrency,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             if (++running == kConcurrency) full.Notify();
                             release.WaitForNotificationWithTimeout(kWait);
                             return work.input();
                           })
                  .ok());
  for (int i = 0; i < kConcurrency + 10; ++i) {
    fake().Enqueue("jobs", "task-" + std::to_string(i));
  }
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(full.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(fake().delivered(), kConcurrency);
  release.Notify();
  ASSERT_TRUE(fake().WaitForAnswers(kConcurrency + 10, kWait));
  worker->Stop();
}

TEST_P(WorkerTransportTest, HeartbeatsAreSentAndCarryProgress) {
  absl::Notification release;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("jobs", 1,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             work.SetProgress(Text("half way"));
                             release.WaitForNotificationWithTimeout(kWait);
                             return Text("done");
                           })
                  .ok());
  const std::string token = fake().Enqueue(
      "jobs", "task-1", {}, /*heartbeat=*/absl::Milliseconds(300));
  ASSERT_TRUE(worker->Start().ok());
  // A third of the interval apart: several before the handler is done.
  ASSERT_TRUE(fake().WaitForHeartbeats(token, 3, kWait));
  release.Notify();
  ASSERT_TRUE(fake().WaitForAnswers(1, kWait));
  worker->Stop();

  std::vector<FakeWorkService::Heartbeat> beats = fake().heartbeats();
  ASSERT_GE(beats.size(), 3u);
  for (const FakeWorkService::Heartbeat& beat : beats) {
    EXPECT_EQ(beat.token, token);
    EXPECT_TRUE(beat.has_details);
    EXPECT_EQ(beat.details.string_value(), "half way");
  }
  EXPECT_EQ(worker->counters().completed, 1u);
}

TEST_P(WorkerTransportTest, NoHeartbeatsWithoutAnInterval) {
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker->Handle("jobs", 1, Echo).ok());
  fake().Enqueue("jobs", "task-1", {}, absl::ZeroDuration(),
                 /*timeout=*/absl::Seconds(30));
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(fake().WaitForAnswers(1, kWait));
  worker->Stop();
  EXPECT_TRUE(fake().heartbeats().empty());
}

TEST_P(WorkerTransportTest, CancelFromAHeartbeatSurfacesInTheContext) {
  absl::Notification started;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("jobs", 1,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             started.Notify();
                             if (!work.WaitForCancel(kWait)) {
                               return Text("never cancelled");
                             }
                             EXPECT_TRUE(work.cancel_requested());
                             return WorkError("cancelled", "stopped as asked");
                           })
                  .ok());
  const std::string token =
      fake().Enqueue("jobs", "task-1", {}, absl::Milliseconds(300));
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  fake().RequestCancel(token);
  ASSERT_TRUE(fake().WaitForAnswers(1, kWait));
  worker->Stop();

  const FakeWorkService::Answer answer = fake().answers().at(0);
  EXPECT_FALSE(answer.completed);
  EXPECT_EQ(answer.error, "cancelled");
  EXPECT_EQ(answer.message, "stopped as asked");
  EXPECT_EQ(worker->counters().failed, 1u);
}

TEST_P(WorkerTransportTest, LostLeaseIsNotAnswered) {
  absl::Notification started;
  absl::Notification handler_saw_cancel;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("jobs", 1,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             started.Notify();
                             if (work.WaitForCancel(kWait)) {
                               handler_saw_cancel.Notify();
                             }
                             return Text("too late");
                           })
                  .ok());
  const std::string token =
      fake().Enqueue("jobs", "task-1", {}, absl::Milliseconds(300));
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  fake().EndLease(token);
  ASSERT_TRUE(handler_saw_cancel.WaitForNotificationWithTimeout(kWait));
  worker->Stop();

  EXPECT_EQ(fake().answer_calls(), 0);
  EXPECT_EQ(worker->counters().lease_lost, 1u);
  EXPECT_EQ(worker->counters().completed, 0u);
}

TEST_P(WorkerTransportTest, GracefulStopFinishesHeldItemsAndTakesNoNew) {
  absl::Notification started;
  absl::Notification release;
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker
                  ->Handle("jobs", 2,
                           [&](WorkContext& work)
                               -> absl::StatusOr<google::protobuf::Value> {
                             started.Notify();
                             release.WaitForNotificationWithTimeout(kWait);
                             EXPECT_FALSE(work.cancel_requested());
                             return Text("finished");
                           })
                  .ok());
  fake().Enqueue("jobs", "held");
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  // One slot is still free, so the worker still receives: a stream with
  // credit, or a waiting poll.
  ASSERT_TRUE(fake().WaitForReceiver(kWait));

  std::thread stopper([&] { worker->Stop(); });
  ASSERT_TRUE(fake().WaitForNoReceiver(kWait));
  fake().Enqueue("jobs", "after-stop-1");
  fake().Enqueue("jobs", "after-stop-2");
  release.Notify();
  stopper.join();

  std::vector<FakeWorkService::Answer> answers = fake().answers();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].task_id, "held");
  EXPECT_EQ(answers[0].result.string_value(), "finished");
  EXPECT_EQ(fake().delivered(), 1);
}

TEST_P(WorkerTransportTest, AnswersAreRetriedAfterUnavailable) {
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker->Handle("jobs", 1, Echo).ok());
  fake().RefuseNextAnswers(2);
  fake().Enqueue("jobs", "task-1", Text("kept"), absl::ZeroDuration(),
                 /*timeout=*/absl::Seconds(60));
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(fake().WaitForAnswers(1, kWait));
  worker->Stop();

  EXPECT_EQ(fake().answer_calls(), 3);
  EXPECT_EQ(fake().answers().at(0).result.string_value(), "kept");
  Worker::Counters counters = worker->counters();
  EXPECT_EQ(counters.completed, 1u);
  EXPECT_EQ(counters.answers_retried, 2u);
  EXPECT_EQ(counters.lease_lost, 0u);
}

TEST_P(WorkerTransportTest, AlreadyCompletedCountsAsDone) {
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(worker->Handle("jobs", 1, Echo).ok());
  // The first completion is taken but its reply is lost; the repeat is
  // answered "already completed".
  fake().LoseNextAnswerReplies(1);
  fake().Enqueue("jobs", "task-1", Text("once"), absl::ZeroDuration(),
                 absl::Seconds(60));
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(fake().WaitForAnswers(1, kWait));
  worker->Stop();

  EXPECT_EQ(fake().answer_calls(), 2);
  EXPECT_EQ(fake().answers().size(), 1u);
  Worker::Counters counters = worker->counters();
  EXPECT_EQ(counters.completed, 1u);
  EXPECT_EQ(counters.answers_retried, 1u);
  EXPECT_EQ(counters.lease_lost, 0u);
}

TEST_P(WorkerTransportTest, HandlerFailuresMapToFailWork) {
  std::unique_ptr<Worker> worker = NewWorker();
  ASSERT_TRUE(
      worker
          ->Handle(
              "jobs", 1,
              [](WorkContext& work) -> absl::StatusOr<google::protobuf::Value> {
                const std::string& kind = work.input().string_value();
                if (kind == "work-error") {
                  return WorkError("BadInput", "want an object",
                                   /*retryable=*/false);
                }
                if (kind == "invalid") return absl::InvalidArgumentError("bad");
                if (kind == "unavailable") {
                  return absl::UnavailableError("down");
                }
                if (kind == "unnamed") return WorkError("", "no name");
                throw std::runtime_error("boom");
              })
          .ok());
  for (const char* kind :
       {"work-error", "invalid", "unavailable", "unnamed", "throw"}) {
    fake().Enqueue("jobs", kind, Text(kind));
  }
  ASSERT_TRUE(worker->Start().ok());
  ASSERT_TRUE(fake().WaitForAnswers(5, kWait));
  worker->Stop();

  std::map<std::string, FakeWorkService::Answer> by_task;
  for (const FakeWorkService::Answer& answer : fake().answers()) {
    EXPECT_FALSE(answer.completed) << answer.task_id;
    by_task[answer.task_id] = answer;
  }
  EXPECT_EQ(by_task["work-error"].error, "BadInput");
  EXPECT_EQ(by_task["work-error"].message, "want an object");
  EXPECT_FALSE(by_task["work-error"].retryable);
  EXPECT_EQ(by_task["invalid"].error, "invalid_argument");
  EXPECT_EQ(by_task["invalid"].message, "bad");
  EXPECT_FALSE(by_task["invalid"].retryable);
  EXPECT_EQ(by_task["unavailable"].error, "unavailable");
  EXPECT_TRUE(by_task["unavailable"].retryable);
  EXPECT_EQ(by_task["unnamed"].error, "handler_error");
  EXPECT_EQ(by_task["throw"].error, "handler_exception");
  EXPECT_TRUE(absl::StrContains(by_task["throw"].message, "boom"));
  EXPECT_TRUE(by_task["throw"].retryable);
  EXPECT_EQ(worker->counters().failed, 5u);
}

TEST_P(WorkerTransportTest, SendsItsIdentity) {
  WorkerOptions options = FastOptions(GetParam());
  options.identity = "test-worker-7";
  Worker named(server_.NewChannel(), options);
  ASSERT_TRUE(named.Handle("jobs", 1, Echo).ok());
  ASSERT_TRUE(named.Start().ok());
  ASSERT_TRUE(fake().WaitForReceiver(kWait));
  named.Stop();
  EXPECT_EQ(fake().last_identity(), "test-worker-7");
  ASSERT_TRUE(fake().WaitForNoReceiver(kWait));

  std::unique_ptr<Worker> unnamed = NewWorker();
  ASSERT_TRUE(unnamed->Handle("jobs", 1, Echo).ok());
  ASSERT_TRUE(unnamed->Start().ok());
  ASSERT_TRUE(fake().WaitForReceiver(kWait));
  unnamed->Stop();
  EXPECT_TRUE(
      absl::EndsWith(fake().last_identity(), ":" + std::to_string(getpid())))
      << fake().last_identity();
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }
  FakeWorkService& fake() { return server_.service(); }
  FakeWorkServer server_;
};

TEST_F(WorkerTest, StreamIsReopenedAfterTheServerBreaksIt) {
  std::vector<absl::Status> errors;
  absl::Mutex errors_mu;
  WorkerOptions options = FastOptions(Transport::kStream);
  options.on_error = [&](const absl::Status& status) {
    absl::MutexLock lock(&errors_mu);
    errors.push_back(status);
  };
  Worker worker(server_.NewChannel(), options);
  ASSERT_TRUE(worker.Handle("jobs", 2, Echo).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(fake().WaitForStreamsOpened(1, kWait));
  ASSERT_TRUE(fake().WaitForReceiver(kWait));
  fake().BreakStreams();
  ASSERT_TRUE(fake().WaitForStreamsOpened(2, kWait));
  // The new stream has credit for both slots.
  fake().Enqueue("jobs", "task-1", Text("a"));
  fake().Enqueue("jobs", "task-2", Text("b"));
  ASSERT_TRUE(fake().WaitForAnswers(2, kWait));
  worker.Stop();
  EXPECT_EQ(worker.counters().completed, 2u);
  absl::MutexLock lock(&errors_mu);
  ASSERT_FALSE(errors.empty());
  EXPECT_TRUE(absl::StrContains(errors[0].message(), "reopening")) << errors[0];
}

TEST_F(WorkerTest, HandleRefusesBadArguments) {
  Worker worker(server_.NewChannel());
  EXPECT_EQ(worker.Handle("", 1, Echo).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(worker.Handle("bad queue!", 1, Echo).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(worker.Handle("jobs", 0, Echo).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(worker.Handle("jobs", 1001, Echo).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(worker.Handle("jobs", 1, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(worker.Start().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(worker.Handle("jobs", 1, Echo).ok());
  EXPECT_EQ(worker.Handle("jobs", 1, Echo).code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(worker.Start().ok());
  EXPECT_EQ(worker.Start().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(worker.Handle("other", 1, Echo).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(WorkerTest, StartRefusesBadOptions) {
  WorkerOptions options;
  options.poll_wait = absl::Seconds(61);
  Worker worker(server_.NewChannel(), options);
  ASSERT_TRUE(worker.Handle("jobs", 1, Echo).ok());
  absl::Status started = worker.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(started.message(), "poll_wait")) << started;
}

TEST_F(WorkerTest, StopBeforeStartAndWaitWithoutStartReturn) {
  Worker worker(server_.NewChannel());
  worker.Wait();
  worker.Stop();
  EXPECT_EQ(worker.Run().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(WorkerTest, SignalsStopGracefullyThenAtOnce) {
  absl::Notification started;
  Worker worker(server_.NewChannel(), FastOptions(Transport::kStream));
  ASSERT_TRUE(worker
                  .Handle("jobs", 2,
                          [&](WorkContext& work)
                              -> absl::StatusOr<google::protobuf::Value> {
                            started.Notify();
                            if (work.WaitForCancel(kWait)) {
                              return WorkError("cancelled", "worker stopping");
                            }
                            return Text("not cancelled");
                          })
                  .ok());
  Worker::StopOnSignals(worker);
  fake().Enqueue("jobs", "held");
  absl::Status ran;
  std::thread runner([&] { ran = worker.Run(); });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(fake().WaitForReceiver(kWait));
  // The first signal: take nothing new, keep running the held item.
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  ASSERT_TRUE(fake().WaitForNoReceiver(kWait));
  EXPECT_TRUE(fake().answers().empty());
  // The second: the held item's handler is told to stop.
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  runner.join();
  EXPECT_TRUE(ran.ok()) << ran;
  std::vector<FakeWorkService::Answer> answers = fake().answers();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].error, "cancelled");
}

TEST(WorkFailureTest, CutsNamesAndMessagesToTheDaemonsLimits) {
  WorkFailure failure = FailureFromStatus(
      WorkError(std::string(200, 'e'), std::string(40000, 'm'), false));
  EXPECT_EQ(failure.error.size(), WorkFailure::kMaxErrorBytes);
  EXPECT_EQ(failure.message.size(), WorkFailure::kMaxMessageBytes);
  EXPECT_FALSE(failure.retryable);
  // Not inside a UTF-8 sequence: "é" is two bytes.
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xc3\xa9";
  failure = FailureFromStatus(WorkError("x" + accents, "m"));
  EXPECT_EQ(failure.error.size(), 127u);
}

TEST(WorkFailureTest, RetryableFollowsTheCode) {
  EXPECT_FALSE(FailureFromStatus(absl::NotFoundError("x")).retryable);
  EXPECT_FALSE(FailureFromStatus(absl::PermissionDeniedError("x")).retryable);
  EXPECT_TRUE(FailureFromStatus(absl::InternalError("x")).retryable);
  EXPECT_TRUE(FailureFromStatus(absl::DeadlineExceededError("x")).retryable);
  EXPECT_EQ(FailureFromStatus(absl::DeadlineExceededError("x")).error,
            "deadline_exceeded");
}

}  // namespace
}  // namespace corosched
