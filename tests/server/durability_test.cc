// The daemon's durable store end to end: what it acknowledged survives
// SIGKILL and restarts, timers keep their absolute deadlines, the data
// directory is locked, a damaged database stops start-up, a failed fsync
// stops the daemon, and finished tasks are purged after --retention.
//
// Every test runs real daemons one after another on one data directory of
// its own. The crash test with many kill -9 cycles is crash_test.cc.

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/server/data_dir_fixture.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

google::protobuf::Duration ProtoDuration(absl::Duration d) {
  return TimeUtil::MillisecondsToDuration(absl::ToInt64Milliseconds(d));
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
}

// NAP sleeps `duration`, then completes with "rested".
v1::TaskDefinition SleepThenComplete(absl::Duration duration) {
  v1::TaskDefinition definition;
  definition.set_name("nap");
  definition.set_initial("NAP");
  auto& states = *definition.mutable_states();
  *states["NAP"].mutable_sleep()->mutable_duration() = ProtoDuration(duration);
  states["NAP"].mutable_sleep()->set_next("DONE");
  states["DONE"].mutable_complete()->set_result("rested");
  return definition;
}

// WAIT awaits `go` for `timeout`: DONE ("went") or LATE ("late").
v1::TaskDefinition AwaitGoWithTimeout(absl::Duration timeout) {
  v1::TaskDefinition definition = AwaitGo();
  definition.set_name("await-go-or-late");
  auto& states = *definition.mutable_states();
  v1::Await& await = *states["WAIT"].mutable_await();
  *await.mutable_timeout() = ProtoDuration(timeout);
  await.set_on_timeout("LATE");
  states["LATE"].mutable_complete()->set_result("late");
  return definition;
}

using DurabilityTest = DataDirDaemonTest;

TEST_F(DurabilityTest, ASleepingTaskWakesAtItsOriginalDeadlineAfterACrash) {
  Open();
  const v1::Task task = Submit(*stub_, SleepThenComplete(absl::Seconds(3)));
  const absl::Time created = ToTime(task.created_at());
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, task.id()).status() == v1::TASK_STATUS_SLEEPING;
  }));
  Crash();
  Open();
  const v1::Task ended = AwaitEnd(task.id());
  ASSERT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "rested");
  const absl::Duration took = ToTime(ended.finished_at()) - created;
  EXPECT_GE(took, absl::Seconds(3));
  // On time: not a fresh 3 s counted from the restart.
  EXPECT_LT(
      ToTime(ended.finished_at()),
      std::max(opened_at_, created) + absl::Seconds(3) + absl::Seconds(2));
}

TEST_F(DurabilityTest, ASleepThatExpiredWhileTheDaemonWasDownFiresAtOnce) {
  Open();
  const v1::Task task = Submit(*stub_, SleepThenComplete(absl::Seconds(1)));
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, task.id()).status() == v1::TASK_STATUS_SLEEPING;
  }));
  Crash();
  absl::SleepFor(absl::Milliseconds(1500));  // past the deadline, while down
  Open();
  const v1::Task ended = AwaitEnd(task.id());
  ASSERT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_LT(ToTime(ended.finished_at()) - opened_at_, absl::Seconds(2));
}

TEST_F(DurabilityTest, ABufferedWakeSurvivesACrash) {
  Open();
  const v1::Task task = Submit(*stub_, SleepThenAwaitGo(absl::Seconds(2)));
  v1::WakeTaskResponse woken;
  ASSERT_TRUE(Wake(task.id(), "", &woken).ok());
  ASSERT_EQ(woken.disposition(), v1::WakeTaskResponse::BUFFERED);
  Crash();
  Open();
  const v1::Task ended = AwaitEnd(task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "went");
}

TEST_F(DurabilityTest, AnAwaitTimesOutAtItsOriginalDeadlineAfterARestart) {
  Open();
  const v1::Task task = Submit(*stub_, AwaitGoWithTimeout(absl::Seconds(3)));
  const absl::Time created = ToTime(task.created_at());
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, task.id()).status() == v1::TASK_STATUS_AWAITING;
  }));
  Close();  // a clean stop this time: SIGTERM, drain, exit 0
  Open();
  const v1::Task ended = AwaitEnd(task.id());
  ASSERT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED) << ended.DebugString();
  EXPECT_EQ(ended.result(), "late");
  EXPECT_GE(ToTime(ended.finished_at()) - created, absl::Seconds(3));
  EXPECT_LT(
      ToTime(ended.finished_at()),
      std::max(opened_at_, created) + absl::Seconds(3) + absl::Seconds(2));
}

TEST_F(DurabilityTest, IdempotencyKeysAndWakeRequestIdsHoldAcrossACrash) {
  Open();
  v1::SubmitTaskRequest submit;
  *submit.mutable_definition() = AwaitGo();
  submit.set_task_id("order-17");
  v1::SubmitTaskResponse first;
  ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), submit, &first).ok());
  ASSERT_TRUE(first.created());
  Crash();
  Open();
  v1::SubmitTaskResponse again;
  ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), submit, &again).ok());
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.task().id(), "order-17");

  v1::WakeTaskResponse woken;
  ASSERT_TRUE(Wake("order-17", "wake-1", &woken).ok());
  EXPECT_FALSE(woken.duplicate());
  ASSERT_EQ(AwaitEnd("order-17").status(), v1::TASK_STATUS_COMPLETED);
  Crash();
  Open();
  v1::WakeTaskResponse repeated;
  ASSERT_TRUE(Wake("order-17", "wake-1", &repeated).ok());
  EXPECT_TRUE(repeated.duplicate());
  EXPECT_EQ(repeated.disposition(), woken.disposition());
  EXPECT_EQ(repeated.sequence(), woken.sequence());
  // The finished task's output is still there, exactly once.
  WatchResult watched = Watch(*stub_, "order-17");
  EXPECT_TRUE(watched.status.ok()) << watched.status.error_message();
  EXPECT_EQ(OutputText(watched.events), "waiting\n");
}

TEST_F(DurabilityTest, ASecondDaemonOnTheSameDataDirectoryRefusesToStart) {
  Open();
  auto second = Launch();
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<int> code = (*second)->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 1);
  EXPECT_THAT((*second)->Stderr(),
              HasSubstr("is in use by another corosched-server"));
  // The first one is unharmed.
  EXPECT_EQ(Submit(*stub_, AwaitGo()).status(), v1::TASK_STATUS_READY);
}

TEST_F(DurabilityTest, ADamagedDatabaseStopsStartUpAndIsLeftAsItIs) {
  const std::string database = data_dir_ + "/corosched.db";
  const std::string garbage(8192, 'x');
  std::ofstream(database) << garbage;
  auto server = Launch();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 1);
  EXPECT_THAT((*server)->Stderr(), HasSubstr("damaged"));
  std::ifstream in(database);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), garbage);
}

TEST_F(DurabilityTest, FinishedTasksArePurgedAfterTheRetention) {
  Open({"--retention", "1s"});
  const v1::Task task = Submit(*stub_, LoadExample("hello.json"));
  ASSERT_EQ(AwaitEnd(task.id()).status(), v1::TASK_STATUS_COMPLETED);
  const v1::Task waiting = Submit(*stub_, AwaitGo());
  // Purged within the retention plus one purge interval (1 s here).
  EXPECT_TRUE(WaitFor(
      [&] {
        v1::GetTaskRequest request;
        request.set_task_id(task.id());
        v1::Task got;
        return stub_->GetTask(Deadline().get(), request, &got).error_code() ==
               grpc::StatusCode::NOT_FOUND;
      },
      absl::Seconds(15)));
  // Unfinished tasks are never purged.
  EXPECT_EQ(GetTask(*stub_, waiting.id()).status(), v1::TASK_STATUS_AWAITING);
}

// A failed fsync (EIO, injected under the daemon with strace) is never
// acknowledged: the daemon answers UNAVAILABLE, says why, and exits 1; after
// a restart every acknowledged task is there.
TEST_F(DurabilityTest, AFailedFsyncStopsTheDaemonAndLosesNothingAcknowledged) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before the test starts any thread
  if (system("strace -f -o /dev/null true >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "strace cannot trace here (ptrace is not permitted)";
  }
  // The first 30 syncs succeed (start-up and some submits), then every one
  // fails.
  auto server = Launch({}, {"/usr/bin/strace", "-f", "-qq", "-o", "/dev/null",
                            "-e", "trace=fsync,fdatasync", "-e",
                            "inject=fsync,fdatasync:error=EIO:when=30+"});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::Status ready = (*server)->WaitUntilReady(absl::Seconds(30));
  ASSERT_TRUE(ready.ok()) << ready << (*server)->Stderr();
  server_ = *std::move(server);
  stub_ = v1::Scheduler::NewStub(server_->NewChannel());

  std::vector<std::string> acknowledged;
  grpc::Status refused;
  for (int i = 0; i < 200 && refused.ok(); ++i) {
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = AwaitGo();
    request.set_task_id(absl::StrCat("t", i));
    v1::SubmitTaskResponse response;
    refused = stub_->SubmitTask(Deadline().get(), request, &response);
    if (refused.ok()) acknowledged.push_back(response.task().id());
  }
  ASSERT_FALSE(refused.ok()) << "no submit failed after 200";
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.error_message();
  EXPECT_FALSE(acknowledged.empty());
  absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << server_->Stderr();
  EXPECT_EQ(*code, 1) << server_->Stderr();
  EXPECT_THAT(server_->Stderr(), HasSubstr("event=store_failed"));
  server_.reset();

  Open();
  for (const std::string& id : acknowledged) {
    EXPECT_EQ(GetTask(*stub_, id).status(), v1::TASK_STATUS_AWAITING) << id;
  }
}

// Syscalls strace logged to `path` so far, by thread id (strace -f puts
// the id first on each line).
std::map<std::string, int> CountByThread(const std::string& path) {
  std::map<std::string, int> counts;
  std::ifstream in(path);
  std::string thread;
  std::string rest;
  while (in >> thread && std::getline(in, rest)) ++counts[thread];
  return counts;
}

// A cancel is answered OK only once it is on disk: when its commit's fsync
// fails it is UNAVAILABLE, and every cancel answered OK is there after a
// restart. A first run counts the store writer's syncs at start and per
// submit, so the second can fail them from the third cancel on.
TEST_F(DurabilityTest, ACancelIsAnsweredOkOnlyOnceItIsOnDisk) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before the test starts any thread
  if (system("strace -f -o /dev/null true >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "strace cannot trace here (ptrace is not permitted)";
  }
  constexpr int kTasks = 6;
  const std::string trace = data_dir_ + ".strace";
  auto submit_all = [&] {
    for (int i = 0; i < kTasks; ++i) {
      v1::SubmitTaskRequest request;
      *request.mutable_definition() = AwaitGo();
      request.set_task_id(absl::StrCat("t", i));
      v1::SubmitTaskResponse response;
      ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), request, &response).ok());
      ASSERT_TRUE(WaitFor([&] {
        return GetTask(*stub_, response.task().id()).status() ==
               v1::TASK_STATUS_AWAITING;
      }));
    }
  };
  std::vector<std::string> strace = {
      "/usr/bin/strace",      "-f", "-qq", "-o", trace, "-e",
      "trace=fsync,fdatasync"};
  auto calibration = Launch({}, strace);
  ASSERT_TRUE(calibration.ok()) << calibration.status();
  ASSERT_TRUE((*calibration)->WaitUntilReady(absl::Seconds(30)).ok());
  server_ = *std::move(calibration);
  stub_ = v1::Scheduler::NewStub(server_->NewChannel());
  // strace counts an injection's syscalls per thread: the store's writer
  // thread is the one whose syncs the submits add.
  const std::map<std::string, int> at_start = CountByThread(trace);
  submit_all();
  std::string writer;
  int per_submit = 0;
  for (const auto& [thread, count] : CountByThread(trace)) {
    auto before = at_start.find(thread);
    const int added = count - (before == at_start.end() ? 0 : before->second);
    if (added > per_submit) {
      writer = thread;
      per_submit = added;
    }
  }
  per_submit /= kTasks;
  ASSERT_GE(per_submit, 1);
  const int writer_at_start =
      at_start.count(writer) != 0 ? at_start.at(writer) : 0;
  Crash();
  std::filesystem::remove_all(data_dir_);
  std::filesystem::create_directories(data_dir_);

  const int fail_from = writer_at_start + per_submit * (kTasks + 2) + 1;
  strace.insert(
      strace.end(),
      {"-e",
       absl::StrCat("inject=fsync,fdatasync:error=EIO:when=", fail_from, "+")});
  auto server = Launch({}, strace);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->WaitUntilReady(absl::Seconds(30)).ok())
      << (*server)->Stderr();
  server_ = *std::move(server);
  stub_ = v1::Scheduler::NewStub(server_->NewChannel());
  submit_all();
  std::vector<std::string> cancelled;
  grpc::Status refused;
  for (int i = 0; i < kTasks && refused.ok(); ++i) {
    v1::CancelTaskRequest request;
    request.set_task_id(absl::StrCat("t", i));
    v1::Task task;
    refused = stub_->CancelTask(Deadline().get(), request, &task);
    if (refused.ok()) cancelled.push_back(task.id());
  }
  ASSERT_FALSE(refused.ok()) << "no cancel failed";
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("did not take effect"));
  absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << server_->Stderr();
  EXPECT_EQ(*code, 1) << server_->Stderr();
  server_.reset();
  std::filesystem::remove(trace);

  Open();
  for (const std::string& id : cancelled) {
    EXPECT_EQ(GetTask(*stub_, id).status(), v1::TASK_STATUS_CANCELLED) << id;
  }
  // The refused cancel may or may not be there (its write can reach the
  // file before the fsync fails); the ones never sent are not.
  for (size_t i = cancelled.size() + 1; i < kTasks; ++i) {
    EXPECT_EQ(GetTask(*stub_, absl::StrCat("t", i)).status(),
              v1::TASK_STATUS_AWAITING);
  }
}

}  // namespace
}  // namespace corosched::e2e
