// Faults under load on three daemons over one PostgreSQL (lease 2 s): a
// daemon killed with SIGKILL, and a restart of PostgreSQL. A bounded load
// (cluster_load.h) runs through the fault; afterwards every acknowledged
// submit and wake must have been applied, once, and the epoch checker must
// find no poll recorded twice (ClusterTest's TearDown).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_load.h"
#include "tests/cluster/cluster_support.h"
#include "tests/server/e2e_support.h"

namespace corosched::cluster_test {
namespace {

// The fault strikes once this share of the load was acknowledged: all
// submits are in, most wakes are not.
int FaultPoint(const ClusterLoad& load) { return load.total_calls() * 2 / 5; }

void PrintSummary(const char* test, Ledger& ledger) {
  absl::MutexLock lock(&ledger.mu);
  std::printf("%s: %zu tasks acknowledged, %d calls sent again\n", test,
              ledger.tasks.size(), ledger.retries);
}

// Counts `n` down to 0, one state per poll, emitting "<n>," each time: a
// task that is being polled, not waiting, when its daemon dies. Its yields
// are recorded in batches (TaskRecorder defers up to 16), so the new owner
// repeats polls the dead one ran and never recorded; its output must still
// show each number once, in order.
v1::TaskDefinition Countdown() {
  v1::TaskDefinition definition;
  definition.set_name("countdown-spinner");
  definition.set_initial("TICK");
  auto& states = *definition.mutable_states();
  v1::State& tick = states["TICK"];
  v1::AddToVariable* down = tick.add_actions()->mutable_add();
  down->set_variable("n");
  down->set_amount(-1);
  tick.add_actions()->set_emit("${n},");
  tick.mutable_yield()->set_next("CHECK");
  v1::Branch* done = states["CHECK"].mutable_choice()->add_when();
  done->set_variable("n");
  done->mutable_less_or_equal()->set_number(0);
  done->set_next("END");
  states["CHECK"].mutable_choice()->set_otherwise("TICK");
  states["END"].mutable_complete()->set_result("done");
  return definition;
}

// Below --task-max-events (10000): every output event stays in the log.
constexpr int kCountFrom = 6000;
constexpr int kSpinners = 3;

std::string SpinnerId(int i) { return absl::StrCat("spinner-", i); }

// Submits the spinners on `stub` and waits until each has recorded some
// progress and none has ended: the moment to kill their daemon.
void StartSpinners(v1::Scheduler::Stub& stub) {
  for (int i = 0; i < kSpinners; ++i) {
    v1::SubmitTaskRequest request;
    request.set_task_id(SpinnerId(i));
    *request.mutable_definition() = Countdown();
    (*request.mutable_inputs())["n"].set_number(kCountFrom);
    v1::SubmitTaskResponse response;
    grpc::Status status =
        stub.SubmitTask(e2e::Deadline().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  for (int i = 0; i < kSpinners; ++i) {
    ASSERT_TRUE(e2e::WaitFor([&] {
      return e2e::GetTask(stub, SpinnerId(i)).last_event_sequence() > 20;
    })) << SpinnerId(i)
        << " recorded no progress";
  }
}

// Each spinner completed with its countdown in its log exactly once.
void ExpectSpinnersCounted(v1::Scheduler::Stub& stub) {
  std::string expected;
  for (int n = kCountFrom - 1; n >= 0; --n) absl::StrAppend(&expected, n, ",");
  for (int i = 0; i < kSpinners; ++i) {
    e2e::WatchResult watched = e2e::Watch(stub, SpinnerId(i));
    ASSERT_TRUE(watched.status.ok())
        << SpinnerId(i) << ": " << watched.status.error_message();
    const std::string output = e2e::OutputText(watched.events);
    EXPECT_TRUE(output == expected)
        << SpinnerId(i) << ": the output should count down from "
        << kCountFrom - 1 << " to 0 once; it has " << output.size()
        << " bytes (expected " << expected.size() << "), starting "
        << output.substr(0, 200);
    ASSERT_FALSE(watched.events.empty());
    EXPECT_EQ(watched.events.back().finished().result(), "done")
        << SpinnerId(i);
  }
}

TEST_F(ClusterTest, KillNineOfADaemonUnderLoad) {
  ClusterLoad load(stubs_, {});
  load.Start();
  ASSERT_TRUE(load.WaitForAcknowledged(FaultPoint(load), absl::Seconds(60)))
      << "the load stalled before the kill";
  ASSERT_NO_FATAL_FAILURE(StartSpinners(*stubs_[0]));
  daemons_[0]->Kill();
  const absl::Time killed = absl::Now();
  load.Join();

  // Its tasks resume on the survivors once its lease (2 s) ran out.
  ExpectAcknowledgedApplied(load.ledger(), LiveStubs(), absl::Seconds(30));
  PrintSummary("kill -9", load.ledger());
  std::printf("kill -9: all tasks finished %s after the kill\n",
              absl::FormatDuration(absl::Now() - killed).c_str());
  // The kill left tasks that the survivors took over (their epoch rose):
  // otherwise this test did not exercise a failover.
  absl::StatusOr<long long> taken_over = database_->QueryNumber(
      "SELECT count(*) FROM corosched_tasks WHERE epoch >= 2");
  ASSERT_TRUE(taken_over.ok()) << taken_over.status();
  EXPECT_GT(*taken_over, 0) << "no task was taken over after the kill";
  ExpectSpinnersCounted(*LiveStubs().front());
  absl::StatusOr<long long> spinners_taken_over = database_->QueryNumber(
      "SELECT count(*) FROM corosched_tasks WHERE key LIKE 'spinner-%' AND "
      "epoch >= 2");
  ASSERT_TRUE(spinners_taken_over.ok()) << spinners_taken_over.status();
  EXPECT_GT(*spinners_taken_over, 0)
      << "every spinner ended before the kill: no running task failed over";
}

// Calls during the outage: each daemon answers a submit UNAVAILABLE (not OK:
// nothing can be stored; not a hang).
void ExpectUnavailableDuringOutage(
    const std::vector<v1::Scheduler::Stub*>& stubs) {
  for (size_t i = 0; i < stubs.size(); ++i) {
    v1::SubmitTaskRequest request;
    request.set_task_id(absl::StrCat("during-outage-", i));
    *request.mutable_definition() = e2e::LoadExample("hello.json");
    v1::SubmitTaskResponse response;
    const absl::Time sent = absl::Now();
    grpc::Status status = stubs[i]->SubmitTask(
        e2e::Deadline(absl::Seconds(5)).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << "daemon " << i << " answered a submit with PostgreSQL down after "
        << absl::FormatDuration(absl::Now() - sent) << ": "
        << status.error_message();
  }
}

TEST_F(ClusterTest, PostgresRestartUnderLoadLosesNothingAcknowledged) {
  ClusterLoad load(stubs_, {});
  load.Start();
  ASSERT_TRUE(load.WaitForAcknowledged(FaultPoint(load), absl::Seconds(60)))
      << "the load stalled before the outage";
  absl::Status paused = PausePostgres();
  ASSERT_TRUE(paused.ok()) << paused;
  const absl::Time down = absl::Now();
  ExpectUnavailableDuringOutage(LiveStubs());
  // Longer than the lease: every daemon's lease runs out while it cannot
  // renew it, so afterwards they must give up their tasks, join again and
  // claim them back.
  absl::SleepFor(absl::Seconds(3) - (absl::Now() - down));
  absl::Status resumed = ResumePostgres();
  ASSERT_TRUE(resumed.ok()) << resumed;
  load.Join();

  for (int i = 0; i < kDaemons; ++i) {
    EXPECT_TRUE(daemons_[i]->running())
        << "daemon " << i << " exited over the outage:\n"
        << daemons_[i]->Stderr();
  }
  ExpectAcknowledgedApplied(load.ledger(), LiveStubs(), absl::Seconds(30));
  PrintSummary("PostgreSQL restart", load.ledger());
  // The outage outlasted every lease: the daemons abandoned the unfinished
  // tasks and claimed them again, at a higher epoch.
  absl::StatusOr<long long> reclaimed = database_->QueryNumber(
      "SELECT count(*) FROM corosched_tasks WHERE epoch >= 2");
  ASSERT_TRUE(reclaimed.ok()) << reclaimed.status();
  EXPECT_GT(*reclaimed, 0) << "no task was claimed again after the outage: "
                              "the daemons kept leases the outage outlasted";
}

}  // namespace
}  // namespace corosched::cluster_test
