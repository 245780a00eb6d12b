// Three daemons on one PostgreSQL, driven as a client of a scaled-out
// deployment would: any call to any daemon. A task submitted on one is woken
// through a second and watched from a third; a drained daemon's tasks are
// finished by the others. (Failures under load: cluster_failover_test.cc.)
// Every test ends with the epoch checker on the database (ClusterTest).

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_support.h"
#include "tests/server/e2e_support.h"

namespace corosched::cluster_test {
namespace {

// Emits "waiting\n", awaits `go`, completes with "woken by <payload's by>".
v1::TaskDefinition AwaitGoBy() {
  v1::TaskDefinition definition = e2e::AwaitGo();
  definition.set_name("await-go-by");
  (*definition.mutable_states())["DONE"].mutable_complete()->set_result(
      "woken by ${signal.by}");
  return definition;
}

// Sleeps `duration`, then completes with "slept".
v1::TaskDefinition SleepThenComplete(absl::Duration duration) {
  v1::TaskDefinition definition;
  definition.set_name("sleep-then-complete");
  definition.set_initial("NAP");
  auto& states = *definition.mutable_states();
  *states["NAP"].mutable_sleep()->mutable_duration() =
      google::protobuf::util::TimeUtil::MillisecondsToDuration(
          absl::ToInt64Milliseconds(duration));
  states["NAP"].mutable_sleep()->set_next("DONE");
  states["DONE"].mutable_complete()->set_result("slept");
  return definition;
}

v1::SubmitTaskResponse SubmitWithId(v1::Scheduler::Stub& stub,
                                    const std::string& id,
                                    const v1::TaskDefinition& definition) {
  v1::SubmitTaskRequest request;
  request.set_task_id(id);
  *request.mutable_definition() = definition;
  v1::SubmitTaskResponse response;
  grpc::Status status =
      stub.SubmitTask(e2e::Deadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << "submit " << id << ": " << status.error_message();
  return response;
}

// A watch that says when its first event arrived, so the test can act once
// the stream is open (events after that reach it live, not from the log).
class Watcher {
 public:
  Watcher(v1::Scheduler::Stub& stub, std::string id)
      : thread_([this, &stub, id] {
          auto context = e2e::Deadline(absl::Seconds(30));
          v1::WatchTaskRequest request;
          request.set_task_id(id);
          auto reader = stub.WatchTask(context.get(), request);
          v1::TaskEvent event;
          while (reader->Read(&event)) {
            result_.events.push_back(event);
            if (!open_.HasBeenNotified()) open_.Notify();
          }
          result_.status = reader->Finish();
          if (!open_.HasBeenNotified()) open_.Notify();
        }) {}
  ~Watcher() { Join(); }

  bool WaitUntilOpen() {
    return open_.WaitForNotificationWithTimeout(absl::Seconds(20));
  }
  // The events once the stream ended.
  const e2e::WatchResult& Join() {
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  absl::Notification open_;
  e2e::WatchResult result_;
  std::thread thread_;
};

void ExpectEndedWith(const e2e::WatchResult& watched, const std::string& output,
                     const std::string& result) {
  ASSERT_TRUE(watched.status.ok())
      << "watch ended with " << watched.status.error_code() << ": "
      << watched.status.error_message();
  ASSERT_FALSE(watched.events.empty());
  EXPECT_EQ(e2e::OutputText(watched.events), output);
  const v1::TaskEvent& last = watched.events.back();
  ASSERT_TRUE(last.has_finished()) << last.ShortDebugString();
  EXPECT_EQ(last.finished().status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(last.finished().result(), result);
  for (size_t i = 1; i < watched.events.size(); ++i) {
    EXPECT_EQ(watched.events[i].sequence(),
              watched.events[i - 1].sequence() + 1)
        << "the watch skipped or repeated an event";
  }
}

// GetTask and ListTasks of the two tasks of the test below, on one daemon.
void ExpectBothCompletedAndListed(v1::Scheduler::Stub& stub) {
  const v1::Task hello = e2e::GetTask(stub, "hello");
  EXPECT_EQ(hello.status(), v1::TASK_STATUS_COMPLETED)
      << hello.ShortDebugString();
  const v1::Task awaited = e2e::GetTask(stub, "await");
  EXPECT_EQ(awaited.status(), v1::TASK_STATUS_COMPLETED)
      << awaited.ShortDebugString();
  EXPECT_EQ(awaited.result(), "woken by two");
  v1::ListTasksRequest list;
  v1::ListTasksResponse listed;
  grpc::Status status = stub.ListTasks(e2e::Deadline().get(), list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::multiset<std::string> ids;
  for (const v1::Task& task : listed.tasks()) ids.insert(task.id());
  EXPECT_EQ(ids, (std::multiset<std::string>{"await", "hello"}));
}

TEST_F(ClusterTest, SubmitOnOneWakeOnAnotherWatchOnTheThird) {
  v1::Scheduler::Stub& first = *stubs_[0];
  v1::Scheduler::Stub& second = *stubs_[1];
  v1::Scheduler::Stub& third = *stubs_[2];

  EXPECT_TRUE(
      SubmitWithId(first, "hello", e2e::LoadExample("hello.json")).created());
  ExpectEndedWith(e2e::Watch(third, "hello"), "Hello, World!\n", "");

  EXPECT_TRUE(SubmitWithId(first, "await", AwaitGoBy()).created());
  ASSERT_TRUE(e2e::WaitFor([&] {
    return e2e::GetTask(second, "await").status() == v1::TASK_STATUS_AWAITING;
  })) << "daemon 2 never saw the task awaiting: "
      << e2e::GetTask(second, "await").ShortDebugString();
  Watcher watcher(third, "await");
  ASSERT_TRUE(watcher.WaitUntilOpen()) << "no event on daemon 3's watch";

  v1::WakeTaskRequest wake;
  wake.set_task_id("await");
  wake.set_signal("go");
  wake.set_request_id("go-1");
  (*wake.mutable_payload()->mutable_fields())["by"].set_string_value("two");
  v1::WakeTaskResponse woken;
  grpc::Status status = second.WakeTask(e2e::Deadline().get(), wake, &woken);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(woken.duplicate());
  ExpectEndedWith(watcher.Join(), "waiting\n", "woken by two");

  // The wake's request id is known to every daemon: sent again to the third,
  // it is answered as a duplicate, not delivered to the ended task.
  v1::WakeTaskResponse again;
  status = third.WakeTask(e2e::Deadline().get(), wake, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.duplicate());

  for (int i = 0; i < kDaemons; ++i) {
    SCOPED_TRACE(absl::StrCat("daemon ", i + 1));
    ExpectBothCompletedAndListed(*stubs_[i]);
  }
}

// A lease far longer than the test waits: the drained daemon's tasks can
// only finish in time if the drain released them (a takeover after the
// lease ran out would come too late).
class ClusterDrainTest : public ClusterTest {
 protected:
  absl::Duration Lease() const override { return absl::Seconds(30); }
};

TEST_F(ClusterDrainTest, DrainedDaemonsTasksFinishOnTheOthers) {
  constexpr int kEach = 3;
  // Long enough to outlast the drain (--drain-timeout 1s) however slow the
  // machine, short against the lease.
  const absl::Duration nap = absl::Seconds(5);
  std::vector<std::string> sleepers;
  std::vector<std::string> awaiters;
  for (int i = 0; i < kEach; ++i) {
    sleepers.push_back(absl::StrCat("sleeper-", i));
    awaiters.push_back(absl::StrCat("awaiter-", i));
    SubmitWithId(*stubs_[0], sleepers.back(), SleepThenComplete(nap));
    SubmitWithId(*stubs_[0], awaiters.back(), e2e::AwaitGo());
  }
  for (const std::string& id : awaiters) {
    ASSERT_TRUE(e2e::WaitFor([&] {
      return e2e::GetTask(*stubs_[0], id).status() == v1::TASK_STATUS_AWAITING;
    })) << id
        << " never awaited";
  }

  absl::StatusOr<int> code = daemons_[0]->Stop();
  ASSERT_TRUE(code.ok()) << code.status() << "\n" << daemons_[0]->Stderr();
  ASSERT_EQ(*code, 0) << daemons_[0]->Stderr();
  const absl::Time drained = absl::Now();
  for (const std::string& id : sleepers) {
    EXPECT_FALSE(e2e::GetTask(*stubs_[1], id).has_finished_at())
        << id << " finished before the drain: the test proves nothing";
  }

  for (int i = 0; i < kEach; ++i) {
    v1::WakeTaskRequest wake;
    wake.set_task_id(awaiters[i]);
    wake.set_signal("go");
    wake.set_request_id(awaiters[i] + "-go");
    v1::WakeTaskResponse woken;
    grpc::Status status =
        stubs_[1 + i % 2]->WakeTask(e2e::Deadline().get(), wake, &woken);
    ASSERT_TRUE(status.ok()) << awaiters[i] << ": " << status.error_message();
  }
  // Lease 30 s: only a released task finishes by then.
  const absl::Time deadline = drained + absl::Seconds(12);
  std::vector<std::string> all = sleepers;
  all.insert(all.end(), awaiters.begin(), awaiters.end());
  for (size_t i = 0; i < all.size(); ++i) {
    v1::Scheduler::Stub& reader = *stubs_[1 + i % 2];
    v1::Task task;
    const bool finished = e2e::WaitFor(
        [&] {
          task = e2e::GetTask(reader, all[i]);
          return task.has_finished_at();
        },
        std::max(deadline - absl::Now(), absl::Milliseconds(10)));
    EXPECT_TRUE(finished)
        << all[i] << " still unfinished "
        << absl::FormatDuration(absl::Now() - drained)
        << " after daemon 1 drained, with a 30 s lease: the drain did not "
           "release it, or no other daemon claimed it at once. "
        << task.ShortDebugString();
    EXPECT_EQ(task.status(), v1::TASK_STATUS_COMPLETED) << all[i];
  }
  // Each was claimed by another daemon: its lease epoch went past the
  // creator's 1.
  absl::StatusOr<long long> claimed = database_->QueryNumber(
      "SELECT count(*) FROM corosched_tasks WHERE epoch >= 2");
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(*claimed, static_cast<long long>(all.size()));
}

}  // namespace
}  // namespace corosched::cluster_test
