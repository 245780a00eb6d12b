#include "tests/cluster/cluster_load.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"

namespace corosched::cluster_test {
namespace {

// Codes a call may meet while a daemon is dead or starting, or while the
// database is down: the clients send it again (same ids) to the next
// daemon.
bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::ABORTED ||
         code == grpc::StatusCode::CANCELLED;
}

std::string TaskId(int client, int task) {
  return absl::StrCat("c", client, "-t", task);
}

std::string WakeId(const std::string& task_id, int tick) {
  return absl::StrCat(task_id, "-k", tick);
}

}  // namespace

v1::TaskDefinition ThreeRecordedTicks() {
  v1::TaskDefinition definition;
  definition.set_name("three-recorded-ticks");
  definition.set_initial("W1");
  auto& states = *definition.mutable_states();
  (*states["W1"].mutable_await()->mutable_signals())["tick"] = "S1";
  for (int tick = 1; tick <= kTicks; ++tick) {
    v1::State& state = states[absl::StrCat("S", tick)];
    v1::SetVariable* keep = state.add_actions()->mutable_set();
    keep->set_variable(absl::StrCat("r", tick));
    keep->set_copy_of("signal.k");
    if (tick < kTicks) {
      (*state.mutable_await()->mutable_signals())["tick"] =
          absl::StrCat("S", tick + 1);
    } else {
      state.mutable_complete()->set_result("${r1},${r2},${r3}");
    }
  }
  return definition;
}

ClusterLoad::ClusterLoad(
    std::vector<std::shared_ptr<v1::Scheduler::Stub>> stubs,
    LoadOptions options)
    : stubs_(std::move(stubs)), options_(options) {}

ClusterLoad::~ClusterLoad() { Join(); }

void ClusterLoad::Start() {
  for (int client = 0; client < options_.clients; ++client) {
    threads_.emplace_back([this, client] { RunClient(client); });
  }
}

int ClusterLoad::total_calls() const {
  return options_.clients * options_.tasks_per_client * (1 + kTicks);
}

bool ClusterLoad::WaitForAcknowledged(int count, absl::Duration timeout) {
  return e2e::WaitFor([&] { return acknowledged_.load() >= count; }, timeout);
}

void ClusterLoad::Join() {
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

template <typename Call>
bool ClusterLoad::Send(const std::string& what, int first, Call call) {
  const absl::Time deadline = absl::Now() + options_.call_timeout;
  grpc::Status status;
  for (int attempt = 0; absl::Now() < deadline; ++attempt) {
    if (attempt > 0) {
      absl::MutexLock lock(&ledger_.mu);
      ++ledger_.retries;
    }
    const int daemon = (first + attempt) % static_cast<int>(stubs_.size());
    status = call(*stubs_[daemon]);
    if (status.ok()) {
      acknowledged_.fetch_add(1);
      return true;
    }
    if (!Retryable(status.error_code())) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::MutexLock lock(&ledger_.mu);
  ledger_.unexpected.push_back(absl::StrCat(
      what, ": code ", status.error_code(), ": ", status.error_message(),
      status.ok() || Retryable(status.error_code()) ? " (gave up)" : ""));
  return false;
}

void ClusterLoad::RunClient(int client) {
  const v1::TaskDefinition definition = ThreeRecordedTicks();
  const int tasks = options_.tasks_per_client;
  for (int task = 0; task < tasks; ++task) {
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = definition;
    request.set_task_id(TaskId(client, task));
    const bool ok =
        Send("submit " + request.task_id(), client + task,
             [&](v1::Scheduler::Stub& stub) {
               v1::SubmitTaskResponse response;
               return stub.SubmitTask(e2e::Deadline(absl::Seconds(5)).get(),
                                      request, &response);
             });
    if (!ok) return;
    absl::MutexLock lock(&ledger_.mu);
    ledger_.tasks.insert(request.task_id());
  }
  for (int tick = 1; tick <= kTicks; ++tick) {
    for (int task = 0; task < tasks; ++task) {
      v1::WakeTaskRequest request;
      request.set_task_id(TaskId(client, task));
      request.set_signal("tick");
      request.set_request_id(WakeId(request.task_id(), tick));
      (*request.mutable_payload()->mutable_fields())["k"].set_string_value(
          request.request_id());
      // Another daemon than the submit's, mostly: through the inbox.
      const bool ok =
          Send("wake " + request.request_id(), client + task + tick,
               [&](v1::Scheduler::Stub& stub) {
                 v1::WakeTaskResponse response;
                 return stub.WakeTask(e2e::Deadline(absl::Seconds(5)).get(),
                                      request, &response);
               });
      if (!ok) return;
      absl::MutexLock lock(&ledger_.mu);
      ledger_.wakes[request.task_id()].insert(request.request_id());
    }
  }
}

namespace {

// Every task id `stub` lists, with how often.
std::multiset<std::string> ListAll(v1::Scheduler::Stub& stub) {
  std::multiset<std::string> listed;
  std::string page_token;
  do {
    v1::ListTasksRequest request;
    request.set_page_size(500);
    request.set_page_token(page_token);
    v1::ListTasksResponse response;
    grpc::Status status =
        stub.ListTasks(e2e::Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << "ListTasks: " << status.error_message();
    if (!status.ok()) break;
    for (const v1::Task& task : response.tasks()) listed.insert(task.id());
    page_token = response.next_page_token();
  } while (!page_token.empty());
  return listed;
}

void ExpectResult(const v1::Task& task, const std::set<std::string>& wakes) {
  ASSERT_TRUE(task.has_finished_at())
      << task.id() << " is not finished: " << task.ShortDebugString();
  EXPECT_EQ(task.status(), v1::TASK_STATUS_COMPLETED)
      << task.id() << ": " << task.ShortDebugString();
  std::vector<std::string> delivered = absl::StrSplit(task.result(), ',');
  std::sort(delivered.begin(), delivered.end());
  const std::vector<std::string> acknowledged(wakes.begin(), wakes.end());
  EXPECT_EQ(delivered, acknowledged)
      << task.id() << ": its result " << task.result()
      << " should hold each acknowledged wake once: "
      << absl::StrJoin(acknowledged, ",");
}

// Each of `wakes` sent again is answered as a duplicate: it was recorded.
void ExpectWakesRecorded(v1::Scheduler::Stub& reader, const std::string& id,
                         const std::set<std::string>& wakes) {
  for (const std::string& request_id : wakes) {
    v1::WakeTaskRequest request;
    request.set_task_id(id);
    request.set_signal("tick");
    request.set_request_id(request_id);
    v1::WakeTaskResponse response;
    grpc::Status status =
        reader.WakeTask(e2e::Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << request_id << ": " << status.error_message();
    EXPECT_TRUE(response.duplicate())
        << request_id << " sent again was not answered as a duplicate";
  }
}

}  // namespace

void ExpectAcknowledgedApplied(Ledger& ledger,
                               const std::vector<v1::Scheduler::Stub*>& readers,
                               absl::Duration finish_timeout) {
  ASSERT_FALSE(readers.empty());
  absl::MutexLock lock(&ledger.mu);
  ASSERT_TRUE(ledger.unexpected.empty())
      << ledger.unexpected.size()
      << " answers no fault explains, the first: " << ledger.unexpected.front();
  ASSERT_FALSE(ledger.tasks.empty()) << "no submit was acknowledged";
  // One deadline for all: the tasks finish together once taken over.
  const absl::Time deadline = absl::Now() + finish_timeout;
  size_t turn = 0;
  for (const std::string& id : ledger.tasks) {
    v1::Scheduler::Stub& reader = *readers[turn++ % readers.size()];
    v1::Task task;
    e2e::WaitFor(
        [&] {
          task = e2e::GetTask(reader, id);
          return task.has_finished_at();
        },
        std::max(deadline - absl::Now(), absl::Milliseconds(10)));
    const std::set<std::string>& wakes = ledger.wakes[id];
    EXPECT_EQ(wakes.size(), static_cast<size_t>(kTicks)) << id;
    ExpectResult(task, wakes);
    ExpectWakesRecorded(reader, id, wakes);
  }
  for (size_t i = 0; i < readers.size(); ++i) {
    const std::multiset<std::string> listed = ListAll(*readers[i]);
    for (const std::string& id : ledger.tasks) {
      EXPECT_EQ(listed.count(id), 1u)
          << id << " acknowledged, listed " << listed.count(id)
          << " times by reader " << i;
    }
  }
}

}  // namespace corosched::cluster_test
