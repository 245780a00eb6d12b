// The crash test: several clients submit tasks and send wakes while the
// daemon is killed with SIGKILL at random moments and restarted, again and
// again, on one data directory. The checker remembers, on its own side,
// every submit and wake the daemon acknowledged; at the end it verifies
// against the daemon that
//  - every acknowledged submit is there, and no task exists twice;
//  - every acknowledged wake is recorded (resending its request id is
//    answered as a duplicate);
//  - every task reached the final state its definition and its wakes imply
//    (three `tick` wakes: W1 -> W2 -> W3 -> DONE, each transition once).
// Meanwhile another client submits tasks with a `work` state and two
// workers take and complete their items; crash_work.h lists what is
// checked of them (each acknowledged completion applied exactly once,
// nothing lost, no task stuck).
//
// Cycles: COROSCHED_CRASH_CYCLES (default 20, as in `make test`);
// tests/crash_soak.sh runs it with many more.

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
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
#include "gtest/gtest.h"
#include "tests/server/crash_work.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

constexpr int kClients = 4;
constexpr int kTicks = 3;
constexpr int kWorkers = 2;

int Cycles() {
  const char* value = getenv("COROSCHED_CRASH_CYCLES");  // NOLINT
  return value == nullptr ? 20 : std::max(1, atoi(value));
}

// W1, W2 and W3 each await `tick`; the third completes the task.
v1::TaskDefinition ThreeTicks() {
  v1::TaskDefinition definition;
  definition.set_name("three-ticks");
  definition.set_initial("W1");
  auto& states = *definition.mutable_states();
  (*states["W1"].mutable_await()->mutable_signals())["tick"] = "W2";
  (*states["W2"].mutable_await()->mutable_signals())["tick"] = "W3";
  (*states["W3"].mutable_await()->mutable_signals())["tick"] = "DONE";
  states["DONE"].mutable_complete()->set_result("ticked");
  return definition;
}

// Where the clients send requests: replaced at every restart.
class Target {
 public:
  void Set(std::shared_ptr<v1::Scheduler::Stub> stub) {
    absl::MutexLock lock(&mu_);
    stub_ = std::move(stub);
  }
  std::shared_ptr<v1::Scheduler::Stub> Get() {
    absl::MutexLock lock(&mu_);
    return stub_;
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<v1::Scheduler::Stub> stub_ ABSL_GUARDED_BY(mu_);
};

// What the daemon acknowledged, as the checker saw it.
struct Acknowledged {
  absl::Mutex mu;
  std::set<std::string> tasks ABSL_GUARDED_BY(mu);
  // task id -> acknowledged wake request ids
  std::map<std::string, std::set<std::string>> wakes ABSL_GUARDED_BY(mu);
  // Answers that no crash explains (the first few, for the message).
  std::vector<std::string> unexpected ABSL_GUARDED_BY(mu);
};

bool Retryable(grpc::StatusCode code) { return RetryableInCrashTest(code); }

class Client {
 public:
  Client(int number, Target& target, Acknowledged& acked,
         std::atomic<bool>& stop)
      : number_(number), target_(target), acked_(acked), stop_(stop) {}

  // Submits tasks and wakes each kTicks times, one request at a time, until
  // `stop`; finishes the task in hand before it returns.
  void Run() {
    for (int n = 0; !stop_.load(); ++n) {
      const std::string id = absl::StrCat("c", number_, "-", n);
      if (!Submit(id)) return;
      for (int tick = 1; tick <= kTicks; ++tick) {
        if (!Wake(id, absl::StrCat(id, "-tick", tick))) return;
      }
    }
  }

 private:
  // Retries a request until it is answered with something other than a
  // retryable error (bounded: 60 s). False on an unexpected answer.
  template <typename Call>
  bool Retry(const std::string& what, Call call) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      grpc::Status status = call(*target_.Get());
      if (status.ok()) return true;
      if (!Retryable(status.error_code())) {
        absl::MutexLock lock(&acked_.mu);
        acked_.unexpected.push_back(absl::StrCat(what, ": code ",
                                                 status.error_code(), ": ",
                                                 status.error_message()));
        return false;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    absl::MutexLock lock(&acked_.mu);
    acked_.unexpected.push_back(what + ": no answer for 60 s");
    return false;
  }

  bool Submit(const std::string& id) {
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = ThreeTicks();
    request.set_task_id(id);
    (*request.mutable_labels())["client"] = absl::StrCat(number_);
    bool ok = Retry("submit " + id, [&](v1::Scheduler::Stub& stub) {
      v1::SubmitTaskResponse response;
      return stub.SubmitTask(Deadline(absl::Seconds(2)).get(), request,
                             &response);
    });
    if (!ok) return false;
    absl::MutexLock lock(&acked_.mu);
    acked_.tasks.insert(id);
    return true;
  }

  bool Wake(const std::string& id, const std::string& request_id) {
    v1::WakeTaskRequest request;
    request.set_task_id(id);
    request.set_signal("tick");
    request.set_request_id(request_id);
    bool ok = Retry("wake " + request_id, [&](v1::Scheduler::Stub& stub) {
      v1::WakeTaskResponse response;
      return stub.WakeTask(Deadline(absl::Seconds(2)).get(), request,
                           &response);
    });
    if (!ok) return false;
    absl::MutexLock lock(&acked_.mu);
    acked_.wakes[id].insert(request_id);
    return true;
  }

  const int number_;
  Target& target_;
  Acknowledged& acked_;
  std::atomic<bool>& stop_;
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/corosched-crash-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    data_dir_ = dir;
  }
  void TearDown() override {
    if (server_ != nullptr) {
      absl::StatusOr<int> code = server_->Stop();
      EXPECT_TRUE(code.ok() && *code == 0) << server_->Stderr();
    }
    std::filesystem::remove_all(data_dir_);
  }

  void StartDaemon() {
    auto server = testing::ServerProcess::Start(
        {.args = {"--data-dir", data_dir_, "--drain-timeout", "1s"}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    target_.Set(v1::Scheduler::NewStub(server_->NewChannel()));
  }

  std::string data_dir_;
  std::unique_ptr<testing::ServerProcess> server_;
  Target target_;
};

TEST_F(CrashTest, NothingAcknowledgedIsLostAcrossRandomKills) {
  const int cycles = Cycles();
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Acknowledged acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  std::vector<std::unique_ptr<Client>> state;
  for (int i = 0; i < kClients; ++i) {
    state.push_back(std::make_unique<Client>(i, target_, acked, stop));
    clients.emplace_back([client = state.back().get()] { client->Run(); });
  }
  StubSource stubs = [this] { return target_.Get(); };
  WorkLedger ledger;
  WorkSubmitter submitter(stubs, ledger, stop);
  clients.emplace_back([&submitter] { submitter.Run(); });
  std::atomic<bool> stop_workers{false};
  std::vector<std::unique_ptr<CrashWorker>> workers;
  std::vector<std::thread> worker_threads;
  for (int i = 0; i < kWorkers; ++i) {
    workers.push_back(
        std::make_unique<CrashWorker>(stubs, ledger, stop_workers));
    worker_threads.emplace_back(
        [worker = workers.back().get()] { worker->Run(); });
  }
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> run_ms(50, 600);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    absl::SleepFor(absl::Milliseconds(run_ms(random)));
    server_->Kill();
    server_.reset();
    ASSERT_NO_FATAL_FAILURE(StartDaemon()) << "restart " << cycle + 1;
  }
  stop.store(true);
  for (std::thread& client : clients) client.join();
  // Workers keep working until every acknowledged work task has ended.
  const bool work_done = AwaitWorkTasks(*target_.Get(), ledger);
  stop_workers.store(true);
  for (std::thread& worker : worker_threads) worker.join();
  EXPECT_TRUE(work_done) << "work tasks still unfinished after 60 s";

  absl::MutexLock lock(&acked.mu);
  ASSERT_TRUE(acked.unexpected.empty())
      << acked.unexpected.size()
      << " unexpected answers, the first: " << acked.unexpected.front();
  ASSERT_GT(acked.tasks.size(), 0u);
  std::shared_ptr<v1::Scheduler::Stub> stub = target_.Get();

  // Every task the daemon has, once: list them all.
  std::multiset<std::string> listed;
  std::string page_token;
  do {
    v1::ListTasksRequest request;
    request.set_page_size(500);
    request.set_page_token(page_token);
    v1::ListTasksResponse response;
    grpc::Status status = stub->ListTasks(Deadline().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::Task& task : response.tasks()) listed.insert(task.id());
    page_token = response.next_page_token();
  } while (!page_token.empty());
  for (const std::string& id : acked.tasks) {
    EXPECT_EQ(listed.count(id), 1u)
        << id << " acknowledged, listed " << listed.count(id) << " times";
  }
  // A task whose submit was not acknowledged (in flight at the last stop)
  // may exist too, but once.
  for (const std::string& id : listed) EXPECT_EQ(listed.count(id), 1u) << id;

  int completed = 0;
  for (const std::string& id : acked.tasks) {
    const std::set<std::string>& wakes = acked.wakes[id];
    ASSERT_EQ(wakes.size(), static_cast<size_t>(kTicks)) << id;
    for (const std::string& request_id : wakes) {
      v1::WakeTaskRequest request;
      request.set_task_id(id);
      request.set_signal("tick");
      request.set_request_id(request_id);
      v1::WakeTaskResponse response;
      grpc::Status status =
          stub->WakeTask(Deadline().get(), request, &response);
      ASSERT_TRUE(status.ok()) << request_id << ": " << status.error_message();
      EXPECT_TRUE(response.duplicate()) << request_id << " was not recorded";
    }
    v1::Task task;
    ASSERT_TRUE(WaitFor([&] {
      task = GetTask(*stub, id);
      return task.has_finished_at();
    })) << id
        << " never finished: " << task.DebugString();
    EXPECT_EQ(task.status(), v1::TASK_STATUS_COMPLETED) << task.DebugString();
    EXPECT_EQ(task.result(), "ticked") << id;
    // States in order, none twice. (Transitions are recorded per poll: a
    // state a wake passed through before the next poll is not listed.) A
    // tick consumed twice would end the task early and the last wake would
    // be refused as `task has ended`; a lost one would leave it waiting.
    WatchResult watched = Watch(*stub, id);
    ASSERT_TRUE(watched.status.ok()) << watched.status.error_message();
    std::vector<std::string> states;
    std::string log;  // for the failure message
    for (const v1::TaskEvent& event : watched.events) {
      absl::StrAppend(&log, event.ShortDebugString(), "\n");
      if (event.has_transition() &&
          (states.empty() || states.back() != event.transition().state())) {
        states.push_back(event.transition().state());
      }
    }
    const std::vector<std::string> order = {"W1", "W2", "W3", "DONE"};
    bool in_order =
        !states.empty() && states.front() == "W1" && states.back() == "DONE";
    for (size_t i = 1; i < states.size(); ++i) {
      in_order =
          in_order && std::find(order.begin(), order.end(), states[i - 1]) <
                          std::find(order.begin(), order.end(), states[i]);
    }
    EXPECT_TRUE(in_order) << id << " events:\n" << log;
    ++completed;
  }
  CheckWorkLedger(*stub, ledger, listed);
  size_t work_tasks = 0;
  size_t acked_completions = 0;
  int refused = 0;
  int retried = 0;
  {
    absl::MutexLock work_lock(&ledger.mu);
    work_tasks = ledger.tasks.size();
    for (const auto& [id, results] : ledger.acked) {
      acked_completions += results.size();
    }
    refused = ledger.refused;
    retried = ledger.retried;
  }
  RecordProperty("cycles", cycles);
  RecordProperty("work_tasks", static_cast<int>(work_tasks));
  RecordProperty("tasks", completed);
  std::printf(
      "crash test: %d kill -9 cycles, %d tasks, %zu work tasks, %zu listed; "
      "%zu completions acknowledged, %d answers refused, %d items retried "
      "after a lease ran out\n",
      cycles, completed, work_tasks, listed.size(), acked_completions, refused,
      retried);
}

}  // namespace
}  // namespace corosched::e2e
