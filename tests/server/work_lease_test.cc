// How leases end, end to end: a killed worker process, a broken stream, a
// lease past its timeout, an item nobody took within its schedule timeout,
// and a poll whose client left before an item came. In each case the item
// is neither lost nor held by two workers.

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
}

// A missed heartbeat or timeout is retried at once, twice at most.
constexpr char kRetriedOnLeaseEnd[] =
    R"("retry": [{"errors": ["heartbeat_timeout", "timeout"],
                  "maxAttempts": 3, "interval": "0s"}])";

using WorkLeaseTest = DaemonTest;

// A worker process (work_test_worker.cc) holding one item.
struct DoomedWorker {
  pid_t pid = -1;
  std::string task_id;
  uint32_t attempt = 0;
  std::string token;
};

// Starts work_test_worker on `queue` and reads the item it took (bounded:
// 25 s). pid stays -1 when it could not start.
DoomedWorker StartDoomedWorker(const std::string& address,
                               const std::string& queue) {
  DoomedWorker worker;
  int out[2];
  if (pipe(out) != 0) return worker;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::string binary = WORK_TEST_WORKER_PATH;
  std::vector<char*> argv = {binary.data(), const_cast<char*>(address.c_str()),
                             const_cast<char*>(queue.c_str()), nullptr};
  const int spawned = posix_spawn(&worker.pid, binary.c_str(), &actions,
                                  nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (spawned != 0) {
    worker.pid = -1;
    close(out[0]);
    return worker;
  }
  std::string line;
  const absl::Time deadline = absl::Now() + absl::Seconds(25);
  while (line.find('\n') == std::string::npos && absl::Now() < deadline) {
    pollfd ready{.fd = out[0], .events = POLLIN, .revents = 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    char buffer[512];
    const ssize_t n = read(out[0], buffer, sizeof(buffer));
    if (n <= 0) break;  // it exited
    line.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  std::vector<std::string> fields =
      absl::StrSplit(line.substr(0, line.find('\n')), ' ');
  if (fields.size() == 3 && absl::SimpleAtoi(fields[1], &worker.attempt)) {
    worker.task_id = fields[0];
    worker.token = absl::HexStringToBytes(fields[2]);
  }
  return worker;
}

TEST_F(WorkLeaseTest, AnItemOfAKilledWorkerProcessIsRetriedOnAnother) {
  const v1::Task task =
      SubmitJob(*stub_,
                WorkJob("killed", R"("heartbeat": "1s", "timeout": "60s")",
                        kRetriedOnLeaseEnd),
                "a");
  DoomedWorker doomed = StartDoomedWorker(server_->address(), "killed");
  ASSERT_GT(doomed.pid, 0) << "could not start " << WORK_TEST_WORKER_PATH;
  const bool took = doomed.task_id == task.id() && doomed.attempt == 1;
  kill(doomed.pid, SIGKILL);
  int wait_status = 0;
  ASSERT_EQ(waitpid(doomed.pid, &wait_status, 0), doomed.pid);
  ASSERT_TRUE(took) << "the worker process took no item";
  EXPECT_EQ(GetTask(*stub_, task.id()).work().lease().worker_identity(),
            "doomed-worker");

  std::optional<v1::WorkItem> retried =
      TakeItem(*stub_, "killed", absl::Seconds(20), "survivor");
  ASSERT_TRUE(retried.has_value());
  EXPECT_EQ(retried->task_id(), task.id());
  EXPECT_EQ(retried->attempt(), 2u);
  grpc::Status late = CompleteWork(*stub_, doomed.token, JsonText("ghost"));
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << late.error_message();
  ASSERT_TRUE(CompleteWork(*stub_, retried->token(), JsonText("alive")).ok());
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "alive");
}

TEST_F(WorkLeaseTest, AnItemOnABrokenStreamIsRetriedAfterItsHeartbeat) {
  const v1::Task task =
      SubmitJob(*stub_,
                WorkJob("broken", R"("heartbeat": "1s", "timeout": "60s")",
                        kRetriedOnLeaseEnd),
                "a");
  v1::WorkItem held;
  {
    grpc::ClientContext context;
    auto stream = stub_->WorkStream(&context);
    v1::WorkStreamRequest open;
    open.mutable_open()->set_queue("broken");
    v1::WorkStreamRequest credit;
    credit.mutable_credit()->set_items(5);
    ASSERT_TRUE(stream->Write(open));
    ASSERT_TRUE(stream->Write(credit));
    v1::WorkStreamResponse response;
    ASSERT_TRUE(stream->Read(&response));
    held = response.item();
    context.TryCancel();  // the worker's connection breaks
    stream->Finish();
  }
  EXPECT_EQ(held.attempt(), 1u);
  // The item stays with the broken stream's worker until its heartbeat
  // deadline, then goes out again as attempt 2.
  std::optional<v1::WorkItem> retried = TakeItem(*stub_, "broken");
  ASSERT_TRUE(retried.has_value());
  EXPECT_EQ(retried->task_id(), task.id());
  EXPECT_EQ(retried->attempt(), 2u);
  EXPECT_GE(ToTime(retried->started_at()), ToTime(held.heartbeat_deadline()));
  EXPECT_EQ(GetTask(*stub_, task.id()).work().last_error(),
            "heartbeat_timeout");
  ASSERT_TRUE(CompleteWork(*stub_, retried->token(), JsonText("again")).ok());
  EXPECT_EQ(AwaitFinished(*stub_, task.id()).result(), "again");
}

TEST_F(WorkLeaseTest, ALeasePastItsTimeoutEndsWhateverTheHeartbeats) {
  const v1::Task task =
      SubmitJob(*stub_,
                WorkJob("slow", R"("heartbeat": "1s", "timeout": "2s")",
                        kRetriedOnLeaseEnd),
                "a");
  std::optional<v1::WorkItem> first = TakeItem(*stub_, "slow");
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->has_timeout_deadline());
  const absl::Time timeout = ToTime(first->timeout_deadline());
  // Beating all along: the heartbeat deadline never passes...
  grpc::Status beat;
  while (absl::Now() < timeout + absl::Seconds(1)) {
    absl::SleepFor(absl::Milliseconds(300));
    beat = HeartbeatWork(*stub_, first->token());
    if (!beat.ok()) break;
  }
  // ...but the timeout does.
  EXPECT_EQ(beat.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << beat.error_message();
  std::optional<v1::WorkItem> second = TakeItem(*stub_, "slow");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->attempt(), 2u);
  EXPECT_EQ(GetTask(*stub_, task.id()).work().last_error(), "timeout");
  ASSERT_TRUE(CompleteWork(*stub_, second->token(), JsonText("in time")).ok());
  EXPECT_EQ(AwaitFinished(*stub_, task.id()).result(), "in time");
}

TEST_F(WorkLeaseTest, AnItemNoWorkerTookInItsScheduleTimeoutIsCaught) {
  const v1::Task task = SubmitJob(
      *stub_,
      WorkJob("nobody", R"("timeout": "60s", "scheduleTimeout": "1s")",
              R"("catch": [{"errors": ["schedule_timeout"], "next": "ALONE",
                            "errorVariable": "why"}])",
              R"("ALONE": {"complete": {"result": "alone: ${why.error}"}})"),
      "a");
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "alone: schedule_timeout");
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(PollWork(*stub_, "nobody", absl::ZeroDuration(), 1, &none).ok());
  EXPECT_THAT(none, IsEmpty());
}

TEST_F(WorkLeaseTest, APollWhoseClientLeftTakesNoItem) {
  // The client gives up after 300 ms on a poll that would wait 30 s.
  v1::PollWorkRequest request;
  request.set_queue("left");
  *request.mutable_wait() = TimeUtil::SecondsToDuration(30);
  v1::PollWorkResponse response;
  grpc::Status gone = stub_->PollWork(Deadline(absl::Milliseconds(300)).get(),
                                      request, &response);
  ASSERT_EQ(gone.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(
      WaitFor([&] { return WorkQueueStatsOf(*stub_, "left").pollers() == 0; },
              absl::Seconds(5)));
  const v1::Task task =
      SubmitJob(*stub_, WorkJob("left", R"("timeout": "60s")"), "a");
  // The item waits for a worker that is there, and is leased to it alone.
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "left");
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->attempt(), 1u);
  ASSERT_TRUE(CompleteWork(*stub_, item->token(), JsonText("taken")).ok());
  EXPECT_EQ(AwaitFinished(*stub_, task.id()).result(), "taken");
}

TEST_F(WorkLeaseTest, APollTakesSeveralItemsEachOnce) {
  const v1::TaskDefinition job = WorkJob("batch", R"("timeout": "60s")");
  std::vector<std::string> ids;
  ids.reserve(5);
  for (int i = 0; i < 5; ++i) {
    ids.push_back(SubmitJob(*stub_, job, absl::StrCat(i)).id());
  }
  ASSERT_TRUE(
      WaitFor([&] { return WorkQueueStatsOf(*stub_, "batch").depth() == 5; }));
  std::vector<v1::WorkItem> items;
  ASSERT_TRUE(PollWork(*stub_, "batch", absl::ZeroDuration(), 3, &items).ok());
  ASSERT_EQ(items.size(), 3u);
  std::vector<v1::WorkItem> rest;
  ASSERT_TRUE(PollWork(*stub_, "batch", absl::ZeroDuration(), 10, &rest).ok());
  ASSERT_EQ(rest.size(), 2u);
  items.insert(items.end(), rest.begin(), rest.end());
  std::vector<std::string> taken;
  for (const v1::WorkItem& item : items) {
    taken.push_back(item.task_id());
    ASSERT_TRUE(CompleteWork(*stub_, item.token(), JsonText("b")).ok());
  }
  // Each once. (Not necessarily in submit order: each task queues its item
  // at its first poll, and two tasks' first polls may run at once.)
  EXPECT_THAT(taken, UnorderedElementsAreArray(ids));
  for (const std::string& id : ids) {
    EXPECT_EQ(AwaitFinished(*stub_, id).result(), "b") << id;
  }
}

TEST_F(WorkLeaseTest, TheTasksTimeoutEndsTheTaskAndCancelsItsLease) {
  v1::TaskDefinition job =
      WorkJob("bounded", R"("heartbeat": "30s", "timeout": "60s")");
  *job.mutable_timeout() = TimeUtil::SecondsToDuration(1);
  const v1::Task task = SubmitJob(*stub_, job, "a");
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "bounded");
  ASSERT_TRUE(item.has_value());
  const v1::Task ended = AwaitFinished(*stub_, task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_FAILED) << ended.DebugString();
  EXPECT_THAT(ended.error(), HasSubstr("timeout"));
  v1::HeartbeatWorkResponse beat;
  ASSERT_TRUE(WaitFor([&] {
    return HeartbeatWork(*stub_, item->token(), &beat).ok() &&
           beat.cancel_requested();
  })) << "the worker was not told";
  grpc::Status late = CompleteWork(*stub_, item->token(), JsonText("late"));
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << late.error_message();
  EXPECT_EQ(GetTask(*stub_, task.id()).status(), v1::TASK_STATUS_FAILED);
}

TEST_F(WorkLeaseTest, CancellingATaskDuringItsBackOffPutsOutNoMoreAttempts) {
  const v1::Task task =
      SubmitJob(*stub_,
                WorkJob("backoff", R"("timeout": "60s")",
                        R"("retry": [{"errors": ["flaky"], "maxAttempts": 3,
                            "interval": "3s"}])"),
                "a");
  std::optional<v1::WorkItem> item = TakeItem(*stub_, "backoff");
  ASSERT_TRUE(item.has_value());
  ASSERT_TRUE(FailWork(*stub_, item->token(), "flaky", "once", true).ok());
  // Waiting out the 3 s back-off: no item queued.
  const v1::Task waiting = GetTask(*stub_, task.id());
  EXPECT_EQ(waiting.status(), v1::TASK_STATUS_SLEEPING);
  EXPECT_EQ(waiting.work().last_error(), "flaky");
  EXPECT_EQ(WorkQueueStatsOf(*stub_, "backoff").depth(), 0u);
  v1::Task cancelled;
  ASSERT_TRUE(CancelTask(*stub_, task.id(), &cancelled).ok());
  EXPECT_EQ(cancelled.status(), v1::TASK_STATUS_CANCELLED);
  // Past the back-off: still nothing on the queue.
  std::vector<v1::WorkItem> none;
  ASSERT_TRUE(PollWork(*stub_, "backoff", absl::Seconds(4), 1, &none).ok());
  EXPECT_THAT(none, IsEmpty());
  EXPECT_EQ(GetTask(*stub_, task.id()).status(), v1::TASK_STATUS_CANCELLED);
}

}  // namespace
}  // namespace corosched::e2e
