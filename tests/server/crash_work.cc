#include "tests/server/crash_work.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/server/work_support.h"

namespace corosched::e2e {
namespace {

constexpr char kQueue[] = "crash";

// Heartbeat 2s (a lease held across a long restart expires and is retried),
// and retries for `flaky` and the lease ends, at once.
v1::TaskDefinition CrashJob() {
  return WorkJob(
      kQueue, R"("heartbeat": "2s", "timeout": "30s")",
      R"("retry": [{"errors": ["flaky", "heartbeat_timeout", "timeout"],
                    "maxAttempts": 100, "interval": "0s"}])");
}

// Whether task "w<n>"'s first attempt is failed by the workers.
bool FailsFirst(const std::string& task_id) {
  int n = 0;
  return absl::SimpleAtoi(absl::string_view(task_id).substr(1), &n) &&
         n % 3 == 0;
}

// Calls `call` with the current stub until it is answered with something
// other than a retryable code (at most 60 s); that answer.
template <typename Call>
grpc::Status UntilAnswered(const StubSource& stubs, Call call) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  grpc::Status status;
  do {
    status = call(*stubs());
    if (!RetryableInCrashTest(status.error_code())) return status;
    absl::SleepFor(absl::Milliseconds(10));
  } while (absl::Now() < deadline);
  return status;
}

}  // namespace

bool RetryableInCrashTest(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::ABORTED ||
         code == grpc::StatusCode::CANCELLED;
}

void WorkLedger::Unexpected(std::string what) {
  absl::MutexLock lock(&mu);
  unexpected.push_back(std::move(what));
}

void WorkSubmitter::Run() {
  const v1::TaskDefinition job = CrashJob();
  for (int n = 0; !stop_.load(); ++n) {
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = job;
    request.set_task_id(absl::StrCat("w", n));
    (*request.mutable_inputs())["job"] = Text(absl::StrCat(n));
    grpc::Status status = UntilAnswered(stubs_, [&](v1::Scheduler::Stub& stub) {
      v1::SubmitTaskResponse response;
      return stub.SubmitTask(Deadline(absl::Seconds(2)).get(), request,
                             &response);
    });
    if (!status.ok()) {
      ledger_.Unexpected(absl::StrCat("submit ", request.task_id(), ": code ",
                                      status.error_code(), ": ",
                                      status.error_message()));
      return;
    }
    absl::MutexLock lock(&ledger_.mu);
    ledger_.tasks.insert(request.task_id());
  }
}

void CrashWorker::Run() {
  while (!stop_.load()) {
    v1::PollWorkRequest request;
    request.set_queue(kQueue);
    request.set_worker_identity("crash-worker");
    request.mutable_wait()->set_nanos(200'000'000);
    request.set_max_items(4);
    v1::PollWorkResponse response;
    grpc::Status status = stubs_()->PollWork(Deadline(absl::Seconds(2)).get(),
                                             request, &response);
    if (RetryableInCrashTest(status.error_code())) {
      absl::SleepFor(absl::Milliseconds(10));
      continue;
    }
    if (!status.ok()) {
      ledger_.Unexpected("poll: " + status.error_message());
      return;
    }
    for (const v1::WorkItem& item : response.items()) Answer(item);
  }
}

void CrashWorker::Answer(const v1::WorkItem& item) {
  const std::string what =
      absl::StrCat(item.task_id(), " attempt ", item.attempt());
  if (item.attempt() > (FailsFirst(item.task_id()) ? 2u : 1u)) {
    absl::MutexLock lock(&ledger_.mu);
    ++ledger_.retried;
  }
  grpc::Status status;
  if (item.attempt() == 1 && FailsFirst(item.task_id())) {
    status = UntilAnswered(stubs_, [&](v1::Scheduler::Stub& stub) {
      return FailWork(stub, item.token(), "flaky", "first attempt", true);
    });
  } else {
    const std::string result =
        absl::StrCat(item.task_id(), "/", item.attempt());
    {
      absl::MutexLock lock(&ledger_.mu);
      ledger_.sent[item.task_id()].insert(result);
    }
    status = UntilAnswered(stubs_, [&](v1::Scheduler::Stub& stub) {
      return CompleteWork(stub, item.token(), JsonText(result));
    });
    if (status.ok()) {
      absl::MutexLock lock(&ledger_.mu);
      ledger_.acked[item.task_id()].insert(result);
    }
  }
  // FAILED_PRECONDITION: the lease ended while the daemon was down (its
  // heartbeat passed), or the answer was taken before a crash hid it.
  if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    absl::MutexLock lock(&ledger_.mu);
    ++ledger_.refused;
  } else if (!status.ok()) {
    ledger_.Unexpected(absl::StrCat(what, ": code ", status.error_code(), ": ",
                                    status.error_message()));
  }
}

bool AwaitWorkTasks(v1::Scheduler::Stub& stub, WorkLedger& ledger) {
  std::set<std::string> tasks;
  {
    absl::MutexLock lock(&ledger.mu);
    tasks = ledger.tasks;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (const std::string& id : tasks) {
    if (!WaitFor([&] { return GetTask(stub, id).has_finished_at(); },
                 deadline - absl::Now())) {
      return false;
    }
  }
  return true;
}

void CheckWorkLedger(v1::Scheduler::Stub& stub, WorkLedger& ledger,
                     const std::multiset<std::string>& listed) {
  absl::MutexLock lock(&ledger.mu);
  ASSERT_TRUE(ledger.unexpected.empty())
      << ledger.unexpected.size()
      << " unexpected work answers, the first: " << ledger.unexpected.front();
  ASSERT_GT(ledger.tasks.size(), 0u);
  for (const std::string& id : ledger.tasks) {
    EXPECT_EQ(listed.count(id), 1u)
        << id << " acknowledged, listed " << listed.count(id) << " times";
    const v1::Task task = GetTask(stub, id);
    ASSERT_TRUE(task.has_finished_at())
        << id << " is stuck: " << task.DebugString();
    EXPECT_EQ(task.status(), v1::TASK_STATUS_COMPLETED) << task.DebugString();
    const std::set<std::string>& acked = ledger.acked[id];
    EXPECT_LE(acked.size(), 1u) << id << ": completions of " << acked.size()
                                << " attempts acknowledged";
    if (!acked.empty()) {
      EXPECT_EQ(task.result(), *acked.begin()) << id;
    } else {
      EXPECT_TRUE(ledger.sent[id].contains(task.result()))
          << id << " ended with a result no worker sent: " << task.result();
    }
    if (FailsFirst(id)) {
      EXPECT_NE(task.result(), id + "/1") << id << " skipped its retry";
    }
    WatchResult watched = Watch(stub, id);
    ASSERT_TRUE(watched.status.ok()) << watched.status.error_message();
    int done = 0;
    for (const v1::TaskEvent& event : watched.events) {
      if (event.has_transition() && event.transition().state() == "DONE") {
        ++done;
      }
    }
    EXPECT_EQ(done, 1) << id << " entered DONE " << done << " times";
  }
}

}  // namespace corosched::e2e
