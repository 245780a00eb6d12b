// Workers end to end, against a real daemon: an item is leased to one
// worker at a time, a lease whose worker went quiet ends at its heartbeat
// deadline and the attempt is retried on another worker, heartbeats keep a
// long item alive, a superseded token changes nothing, `retry` and `catch`
// route failures, and a cancel reaches the worker. Bad input is in
// work_input_test.cc, crashes in work_durability_test.cc.

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/server/work_support.h"

namespace corosched::e2e {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
}

// A channel of its own (not shared with the fixture's through gRPC's
// subchannel pool), as a separate worker process would have.
std::unique_ptr<v1::Scheduler::Stub> WorkerStub(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::Scheduler::NewStub(grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), args));
}

// Heartbeat 1s, answer within 60s; a missed heartbeat is retried at once,
// twice at most.
constexpr char kRetriedOnHeartbeatTimeout[] =
    R"("retry": [{"errors": ["heartbeat_timeout"], "maxAttempts": 3,
                  "interval": "0s"}])";

// What the two workers of the first test saw.
struct Deliveries {
  absl::Mutex mu;
  // task id -> the workers it was delivered to, one entry per delivery
  std::map<std::string, std::vector<std::string>> by_task ABSL_GUARDED_BY(mu);
  std::set<std::string> tokens ABSL_GUARDED_BY(mu);
  std::vector<std::string> errors ABSL_GUARDED_BY(mu);

  // Records a delivery and completes it with "<worker>:<task id>".
  void Take(v1::Scheduler::Stub& stub, const std::string& worker,
            const v1::WorkItem& item) {
    {
      absl::MutexLock lock(&mu);
      by_task[item.task_id()].push_back(worker);
      if (!tokens.insert(item.token()).second) {
        errors.push_back("token delivered twice to " + worker);
      }
    }
    grpc::Status done =
        CompleteWork(stub, item.token(),
                     JsonText(absl::StrCat(worker, ":", item.task_id())));
    if (!done.ok()) {
      absl::MutexLock lock(&mu);
      errors.push_back(absl::StrCat(worker, " complete ", item.task_id(), ": ",
                                    done.error_message()));
    }
  }
  size_t Delivered() {
    absl::MutexLock lock(&mu);
    return by_task.size();
  }
};

using WorkTest = DaemonTest;

TEST_F(WorkTest, TwoWorkersNeverHoldTheSameItem) {
  constexpr int kTasks = 60;
  const v1::TaskDefinition job = WorkJob("pair", R"("timeout": "60s")");
  Deliveries deliveries;
  std::atomic<bool> stop{false};
  auto poller_stub = WorkerStub(server_->address());
  auto streamer_stub = WorkerStub(server_->address());
  grpc::ClientContext stream_context;
  // Worker "poller": long polls for up to 3 items at a time.
  std::thread poller([&] {
    while (!stop.load()) {
      std::vector<v1::WorkItem> items;
      grpc::Status status =
          PollWork(*poller_stub, "pair", absl::Seconds(1), 3, &items, "poller");
      if (!status.ok()) {
        absl::MutexLock lock(&deliveries.mu);
        deliveries.errors.push_back("poll: " + status.error_message());
        return;
      }
      for (const v1::WorkItem& item : items) {
        deliveries.Take(*poller_stub, "poller", item);
      }
    }
  });
  // Worker "streamer": a stream holding 2 credits, one more per item done.
  std::thread streamer([&] {
    auto stream = streamer_stub->WorkStream(&stream_context);
    v1::WorkStreamRequest open;
    open.mutable_open()->set_queue("pair");
    open.mutable_open()->set_worker_identity("streamer");
    v1::WorkStreamRequest credit;
    credit.mutable_credit()->set_items(2);
    if (!stream->Write(open) || !stream->Write(credit)) return;
    credit.mutable_credit()->set_items(1);
    v1::WorkStreamResponse response;
    while (stream->Read(&response)) {
      deliveries.Take(*streamer_stub, "streamer", response.item());
      if (!stream->Write(credit)) break;
    }
    stream->Finish();  // cancelled by the test when all are in
  });
  std::vector<std::string> ids;
  ids.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    ids.push_back(SubmitJob(*stub_, job, absl::StrCat(i)).id());
  }
  for (const std::string& id : ids) {
    const v1::Task task = AwaitFinished(*stub_, id);
    EXPECT_EQ(task.status(), v1::TASK_STATUS_COMPLETED) << task.DebugString();
  }
  // Late duplicates, if any, would arrive in the meantime: let both workers
  // poll once more before stopping.
  std::vector<v1::WorkItem> left;
  ASSERT_TRUE(PollWork(*stub_, "pair", absl::Seconds(1), 100, &left).ok());
  EXPECT_THAT(left, ::testing::IsEmpty());
  stop.store(true);
  stream_context.TryCancel();
  poller.join();
  streamer.join();

  absl::MutexLock lock(&deliveries.mu);
  EXPECT_THAT(deliveries.errors, ::testing::IsEmpty());
  ASSERT_EQ(deliveries.by_task.size(), static_cast<size_t>(kTasks));
  std::map<std::string, int> per_worker;
  for (const std::string& id : ids) {
    const std::vector<std::string>& workers = deliveries.by_task[id];
    ASSERT_EQ(workers.size(), 1u)
        << id << " was delivered " << workers.size() << " times";
    ++per_worker[workers.front()];
    // Completed once, with the one holder's result.
    EXPECT_EQ(GetTask(*stub_, id).result(),
              absl::StrCat(workers.front(), ":", id));
  }
  // Both ways of taking work take some (the stream is parked with credit
  // whenever the poller is).
  EXPECT_GT(per_worker["poller"], 0);
  EXPECT_GT(per_worker["streamer"], 0);
}

TEST_F(WorkTest, AStreamGetsOneItemPerCreditAndNoMore) {
  const v1::TaskDefinition job = WorkJob("credit", R"("timeout": "60s")");
  grpc::ClientContext context;
  auto stream = stub_->WorkStream(&context);
  v1::WorkStreamRequest open;
  open.mutable_open()->set_queue("credit");
  open.mutable_open()->set_worker_identity("streamer");
  v1::WorkStreamRequest credit;
  credit.mutable_credit()->set_items(2);
  ASSERT_TRUE(stream->Write(open));
  ASSERT_TRUE(stream->Write(credit));
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.insert(SubmitJob(*stub_, job, absl::StrCat(i)).id());
  }
  // Two leased to the stream, the third waits on the queue for credit (a
  // task's first poll, which queues its item, may come after its submit
  // is answered).
  ASSERT_TRUE(WaitFor(
      [&] {
        const v1::WorkQueueStats stats = WorkQueueStatsOf(*stub_, "credit");
        return stats.leased() == 2 && stats.depth() == 1;
      },
      absl::Seconds(10)))
      << WorkQueueStatsOf(*stub_, "credit").DebugString();
  std::set<std::string> received;
  v1::WorkStreamResponse response;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(stream->Read(&response)) << "item " << i;
    EXPECT_TRUE(ids.contains(response.item().task_id()));
    EXPECT_TRUE(received.insert(response.item().task_id()).second);
    EXPECT_EQ(response.item().attempt(), 1u);
  }
  credit.mutable_credit()->set_items(1);
  ASSERT_TRUE(stream->Write(credit));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_TRUE(received.insert(response.item().task_id()).second);
  EXPECT_EQ(received, ids);
  ASSERT_TRUE(
      CompleteWork(*stub_, response.item().token(), JsonText("s")).ok());
  EXPECT_EQ(AwaitFinished(*stub_, response.item().task_id()).result(), "s");
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(WorkTest, AnItemDroppedByItsWorkerIsRetriedOnAnotherAfterItsHeartbeat) {
  const v1::Task task =
      SubmitJob(*stub_,
                WorkJob("drop", R"("heartbeat": "1s", "timeout": "60s")",
                        kRetriedOnHeartbeatTimeout),
                "a");
  auto first_worker = WorkerStub(server_->address());
  auto second_worker = WorkerStub(server_->address());
  // The first worker takes the item and goes silent, as if killed.
  std::optional<v1::WorkItem> first =
      TakeItem(*first_worker, "drop", absl::Seconds(20), "first");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->task_id(), task.id());
  EXPECT_EQ(first->attempt(), 1u);
  ASSERT_TRUE(first->has_heartbeat_deadline());
  // Not to the second worker while the first still holds it...
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(
      PollWork(*second_worker, "drop", absl::ZeroDuration(), 1, &none, "second")
          .ok());
  EXPECT_THAT(none, ::testing::IsEmpty());
  // ...but after its heartbeat deadline, as attempt 2.
  std::optional<v1::WorkItem> second =
      TakeItem(*second_worker, "drop", absl::Seconds(20), "second");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->task_id(), task.id());
  EXPECT_EQ(second->attempt(), 2u);
  EXPECT_NE(second->token(), first->token());
  EXPECT_GE(ToTime(second->started_at()), ToTime(first->heartbeat_deadline()));
  const v1::Task working = GetTask(*stub_, task.id());
  EXPECT_EQ(working.work().attempt(), 2u);
  EXPECT_EQ(working.work().last_error(), "heartbeat_timeout");
  EXPECT_EQ(working.work().lease().worker_identity(), "second");

  // The first worker's token is over: refused, and nothing changes.
  grpc::Status beat = HeartbeatWork(*first_worker, first->token());
  EXPECT_EQ(beat.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::Status late =
      CompleteWork(*first_worker, first->token(), JsonText("first"));
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << late.error_message();
  EXPECT_EQ(GetTask(*stub_, task.id()).status(), v1::TASK_STATUS_WORKING);
  ASSERT_TRUE(
      CompleteWork(*second_worker, second->token(), JsonText("second")).ok());
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "second");
}

TEST_F(WorkTest, HeartbeatsKeepALongItemAlive) {
  const v1::Task task = SubmitJob(
      *stub_, WorkJob("long", R"("heartbeat": "1s", "timeout": "60s")"), "a");
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "long");
  ASSERT_TRUE(item.has_value());
  absl::Time deadline = ToTime(item->heartbeat_deadline());
  // Four heartbeat intervals, beating every 400 ms.
  const absl::Time until = ToTime(item->started_at()) + absl::Seconds(4);
  int beats = 0;
  while (absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(400));
    v1::HeartbeatWorkResponse answer;
    grpc::Status beat = HeartbeatWork(*stub_, item->token(), &answer);
    ASSERT_TRUE(beat.ok()) << "beat " << beats << ": " << beat.error_message();
    EXPECT_FALSE(answer.cancel_requested());
    ASSERT_TRUE(answer.has_heartbeat_deadline());
    const absl::Time next = ToTime(answer.heartbeat_deadline());
    EXPECT_GT(next, deadline) << "beat " << beats;
    EXPECT_GT(next, absl::Now());
    EXPECT_LE(next, absl::Now() + absl::Seconds(1));
    deadline = next;
    ++beats;
  }
  EXPECT_GE(beats, 8);
  const v1::Task working = GetTask(*stub_, task.id());
  EXPECT_EQ(working.work().attempt(), 1u);
  // GetTask shows the lease's deadline as the last heartbeat moved it.
  EXPECT_EQ(ToTime(working.work().lease().heartbeat_deadline()), deadline);
  ASSERT_TRUE(CompleteWork(*stub_, item->token(), JsonText("long done")).ok());
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "long done");
}

TEST_F(WorkTest, AStaleCompletionIsRefusedAndTheCurrentAttemptsApplies) {
  const v1::Task task =
      SubmitJob(*stub_,
                WorkJob("stale", R"("heartbeat": "1s", "timeout": "60s")",
                        kRetriedOnHeartbeatTimeout),
                "a");
  std::optional<v1::WorkItem> first = TakeItem(*stub_, "stale");
  ASSERT_TRUE(first.has_value());
  std::optional<v1::WorkItem> second = TakeItem(*stub_, "stale");
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->attempt(), 2u);
  const v1::Task before = GetTask(*stub_, task.id());

  grpc::Status stale =
      CompleteWork(*stub_, first->token(), JsonText("from attempt 1"));
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << stale.error_message();
  grpc::Status stale_failure =
      FailWork(*stub_, first->token(), "Boom", "from attempt 1", false);
  EXPECT_EQ(stale_failure.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << stale_failure.error_message();
  const v1::Task after = GetTask(*stub_, task.id());
  EXPECT_EQ(after.status(), v1::TASK_STATUS_WORKING);
  EXPECT_EQ(after.state(), "RUN");
  EXPECT_EQ(after.work().attempt(), 2u);
  EXPECT_EQ(after.last_event_sequence(), before.last_event_sequence());
  EXPECT_FALSE(after.variables().contains("r"));
  // Attempt 2's lease is untouched.
  EXPECT_TRUE(HeartbeatWork(*stub_, second->token()).ok());

  ASSERT_TRUE(
      CompleteWork(*stub_, second->token(), JsonText("from attempt 2")).ok());
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "from attempt 2");
}

// RUN retries `flaky` up to 3 attempts in all (back-off 0.2 s, 0.4 s);
// every failure left over goes to CAUGHT, which completes with the error.
v1::TaskDefinition RetriedThenCaught(const std::string& queue) {
  return WorkJob(
      queue, R"("timeout": "60s")",
      R"("retry": [{"errors": ["flaky"], "maxAttempts": 3, "interval": "0.2s",
                    "backoffRate": 2}],
         "catch": [{"errors": ["*"], "next": "CAUGHT",
                    "errorVariable": "why"}])",
      R"("CAUGHT": {"complete": {"result": "caught ${why.error}: ${why.message}"}})");
}

TEST_F(WorkTest, ANonRetryableFailureGoesStraightToTheCatcher) {
  const v1::Task task = SubmitJob(*stub_, RetriedThenCaught("final"), "a");
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "final");
  ASSERT_TRUE(item.has_value());
  // `flaky` is retried by the rule, but the worker says it would recur.
  ASSERT_TRUE(
      FailWork(*stub_, item->token(), "flaky", "row 7 is gone", false).ok());
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "caught flaky: row 7 is gone");
  EXPECT_EQ(ended.state(), "CAUGHT");
  ASSERT_TRUE(ended.variables().contains("why")) << ended.DebugString();
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(PollWork(*stub_, "final", absl::ZeroDuration(), 1, &none).ok());
  EXPECT_THAT(none, ::testing::IsEmpty());
}

TEST_F(WorkTest, RetriesUseUpTheirAttemptsThenTheCatcherTakesOver) {
  const v1::Task task = SubmitJob(*stub_, RetriedThenCaught("retries"), "a");
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    std::optional<v1::WorkItem> item = TakeItem(*stub_, "retries");
    ASSERT_TRUE(item.has_value()) << "attempt " << attempt;
    EXPECT_EQ(item->attempt(), attempt);
    EXPECT_EQ(item->task_id(), task.id());
    const v1::Task working = GetTask(*stub_, task.id());
    EXPECT_EQ(working.work().attempt(), attempt);
    if (attempt > 1) EXPECT_EQ(working.work().last_error(), "flaky");
    ASSERT_TRUE(FailWork(*stub_, item->token(), "flaky",
                         absl::StrCat("try ", attempt), true)
                    .ok());
  }
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "caught flaky: try 3");
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(PollWork(*stub_, "retries", absl::ZeroDuration(), 1, &none).ok());
  EXPECT_THAT(none, ::testing::IsEmpty());
}

TEST_F(WorkTest, AFailureNoCatcherTakesFailsTheTask) {
  const v1::Task task =
      SubmitJob(*stub_, WorkJob("uncaught", R"("timeout": "60s")"), "a");
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "uncaught");
  ASSERT_TRUE(item.has_value());
  ASSERT_TRUE(
      FailWork(*stub_, item->token(), "Unreachable", "host down", true).ok());
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_FAILED) << ended.DebugString();
  EXPECT_THAT(ended.error(), HasSubstr("RUN"));
  EXPECT_THAT(ended.error(), HasSubstr("Unreachable"));
  EXPECT_THAT(ended.error(), HasSubstr("host down"));
}

TEST_F(WorkTest, CancellingATaskTellsTheWorkerHoldingItsItem) {
  const v1::Task task = SubmitJob(
      *stub_, WorkJob("cancel", R"("heartbeat": "10s", "timeout": "60s")"),
      "a");
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "cancel");
  ASSERT_TRUE(item.has_value());
  v1::HeartbeatWorkResponse beat;
  ASSERT_TRUE(HeartbeatWork(*stub_, item->token(), &beat).ok());
  EXPECT_FALSE(beat.cancel_requested());

  v1::Task cancelled;
  ASSERT_TRUE(CancelTask(*stub_, task.id(), &cancelled).ok());
  EXPECT_EQ(cancelled.status(), v1::TASK_STATUS_CANCELLED);
  ASSERT_TRUE(HeartbeatWork(*stub_, item->token(), &beat).ok());
  EXPECT_TRUE(beat.cancel_requested());
  grpc::Status complete = CompleteWork(*stub_, item->token(), JsonText("x"));
  EXPECT_EQ(complete.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << complete.error_message();
  grpc::Status stopped =
      FailWork(*stub_, item->token(), "cancelled", "stopped", false);
  EXPECT_TRUE(stopped.ok()) << stopped.error_message();
  const v1::Task ended = GetTask(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_CANCELLED) << ended.DebugString();
  EXPECT_TRUE(ended.result().empty());
  EXPECT_EQ(WorkQueueStatsOf(*stub_, "cancel").leased(), 0u);
}

TEST_F(WorkTest, CancellingATaskRemovesItsQueuedItem) {
  const v1::Task task =
      SubmitJob(*stub_, WorkJob("unpolled", R"("timeout": "60s")"), "a");
  ASSERT_TRUE(WaitFor(
      [&] { return WorkQueueStatsOf(*stub_, "unpolled").depth() == 1; }));
  ASSERT_TRUE(CancelTask(*stub_, task.id()).ok());
  EXPECT_EQ(WorkQueueStatsOf(*stub_, "unpolled").depth(), 0u);
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(
      PollWork(*stub_, "unpolled", absl::Milliseconds(300), 1, &none).ok());
  EXPECT_THAT(none, ::testing::IsEmpty());
  EXPECT_EQ(GetTask(*stub_, task.id()).status(), v1::TASK_STATUS_CANCELLED);
}

}  // namespace
}  // namespace corosched::e2e
