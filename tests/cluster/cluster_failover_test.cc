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

TEST_F(ClusterTest, KillNineOfADaemonUnderLoad) {
  ClusterLoad load(stubs_, {});
  load.Start();
  ASSERT_TRUE(load.WaitForAcknowledged(FaultPoint(load), absl::Seconds(60)))
      << "the load stalled before the kill";
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
}

}  // namespace
}  // namespace corosched::cluster_test
