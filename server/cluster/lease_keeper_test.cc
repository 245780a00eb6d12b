#include "server/cluster/lease_keeper.h"

#include <string>

#include "gtest/gtest.h"
#include "server/cluster/cluster_test_daemon.h"

namespace corosched::server {
namespace {

// Two daemons on one database whose leases run on clock_ (30 s, with a
// 5 s margin: TestLeaseOptions). The test runs the keepers' steps itself.
class LeaseKeeperTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  FakeClusterDatabase database_{clock_};
  TestDaemon a_{database_, clock_};
  TestDaemon b_{database_, clock_};
};

TEST_F(LeaseKeeperTest, RenewsItsLeaseAndKeepsItsDeadlineAhead) {
  a_.Join();
  const std::string id = a_.store.daemon_id();
  EXPECT_EQ(a_.node->keeper().deadline(), clock_.Now() + absl::Seconds(25));
  clock_.Advance(absl::Seconds(10));
  a_.node->keeper().RenewIfDue();
  EXPECT_EQ(a_.node->keeper().deadline(), clock_.Now() + absl::Seconds(25));
  EXPECT_EQ(database_.LeaseUntil(id), clock_.Now() + absl::Seconds(30));
  EXPECT_FALSE(a_.node->keeper().FenceIfExpired());
  EXPECT_EQ(a_.store.daemon_id(), id);
}

TEST_F(LeaseKeeperTest, RenewalsFailingPastTheDeadlineAbandonTasksInTime) {
  a_.Join();
  const std::string first_id = a_.store.daemon_id();
  ASSERT_TRUE(a_.Submit("t").ok());
  ASSERT_TRUE(
      Eventually([&] { return a_.Status("t") == v1::TASK_STATUS_AWAITING; }));

  database_.SetReachable(false);
  clock_.Advance(absl::Seconds(10));
  a_.node->keeper().RenewIfDue();
  EXPECT_EQ(
      MetricValue(a_.metrics, "corosched_cluster_lease_renewal_failures_total"),
      1);
  clock_.Advance(absl::Seconds(14));
  EXPECT_FALSE(a_.node->keeper().FenceIfExpired());
  EXPECT_TRUE(a_.runner->IsLive(Key("t")));

  clock_.Advance(absl::Seconds(1));  // the deadline: lease - margin
  EXPECT_TRUE(a_.node->keeper().FenceIfExpired());
  EXPECT_FALSE(a_.runner->IsLive(Key("t")));
  EXPECT_TRUE(Eventually([&] { return a_.executor->Stats().live_tasks == 0; }));
  EXPECT_EQ(MetricValue(a_.metrics, "corosched_cluster_lease_lost_total"), 1);
  // Stopped while the database still holds the lease: nobody else could
  // have claimed the task yet.
  EXPECT_GT(*database_.LeaseUntil(first_id), clock_.Now());

  database_.SetReachable(true);
  b_.Join();
  b_.node->keeper().ClaimNow();
  EXPECT_FALSE(b_.runner->IsLive(Key("t")));

  // Back, the first daemon leaves under its old id (giving the task up at
  // once) and joins under a new one; whichever daemon claims first runs it.
  a_.node->keeper().RenewIfDue();
  EXPECT_NE(a_.store.daemon_id(), first_id);
  EXPECT_FALSE(database_.LeaseUntil(first_id).has_value());
  b_.node->keeper().ClaimNow();
  EXPECT_TRUE(b_.runner->IsLive(Key("t")));
  EXPECT_EQ(database_.OwnerRow(Key("t")),
            std::make_pair(b_.store.daemon_id(), uint64_t{2}));
  ASSERT_TRUE(b_.Wake("t", "go", "").ok());
  EXPECT_TRUE(
      Eventually([&] { return b_.Status("t") == v1::TASK_STATUS_COMPLETED; }));
}

TEST_F(LeaseKeeperTest, ALeaseFoundExpiredAtRenewalRejoinsUnderANewId) {
  a_.Join();
  const std::string first_id = a_.store.daemon_id();
  ASSERT_TRUE(a_.Submit("t").ok());
  ASSERT_TRUE(
      Eventually([&] { return a_.Status("t") == v1::TASK_STATUS_AWAITING; }));
  // Paused past its lease (and its own deadline, unnoticed).
  clock_.Advance(absl::Seconds(31));
  a_.node->keeper().RenewIfDue();
  EXPECT_FALSE(a_.runner->IsLive(Key("t")));
  EXPECT_EQ(MetricValue(a_.metrics, "corosched_cluster_lease_lost_total"), 1);

  a_.node->keeper().RenewIfDue();
  EXPECT_NE(a_.store.daemon_id(), first_id);
  a_.node->keeper().ClaimNow();  // its own task, now nobody's
  EXPECT_TRUE(a_.runner->IsLive(Key("t")));
  EXPECT_EQ(database_.OwnerRow(Key("t")).second, 2u);
}

TEST_F(LeaseKeeperTest, AWriteAfterAnotherDaemonTookTheTaskAbandonsIt) {
  a_.Join();
  ASSERT_TRUE(a_.Submit("t").ok());
  ASSERT_TRUE(
      Eventually([&] { return a_.Status("t") == v1::TASK_STATUS_AWAITING; }));
  // The first daemon stalls past its lease; the second takes the task.
  clock_.Advance(absl::Seconds(31));
  b_.Join();
  b_.node->keeper().ClaimNow();
  ASSERT_TRUE(b_.runner->IsLive(Key("t")));

  // The stalled daemon still runs it, until its first write is fenced.
  ASSERT_TRUE(a_.runner->IsLive(Key("t")));
  absl::StatusOr<v1::WakeTaskResponse> stale = a_.Wake("t", "go", "r1");
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(a_.runner->IsLive(Key("t")));
  EXPECT_EQ(a_.Status("t"), v1::TASK_STATUS_AWAITING);

  ASSERT_TRUE(b_.Wake("t", "go", "r1").ok());
  EXPECT_TRUE(
      Eventually([&] { return b_.Status("t") == v1::TASK_STATUS_COMPLETED; }));
}

TEST_F(LeaseKeeperTest, ADrainedDaemonsTasksAreClaimedAndFinishElsewhere) {
  a_.Join();
  for (const char* id : {"t1", "t2", "t3"}) ASSERT_TRUE(a_.Submit(id).ok());
  ASSERT_TRUE(Eventually([&] {
    return a_.Status("t3") == v1::TASK_STATUS_AWAITING &&
           a_.Status("t1") == v1::TASK_STATUS_AWAITING;
  }));
  a_.node->keeper().StopClaiming();
  a_.runner->BeginShutdown();
  a_.executor->Shutdown(ShutdownMode::kCancel);
  ASSERT_TRUE(a_.node->Leave().ok());

  b_.Join();
  b_.node->keeper().ClaimNow();
  EXPECT_EQ(MetricValue(b_.metrics, "corosched_cluster_claims_total"), 3);
  EXPECT_EQ(MetricValue(b_.metrics, "corosched_cluster_owned_tasks"), 3);
  for (const char* id : {"t1", "t2", "t3"}) {
    ASSERT_TRUE(b_.Wake(id, "go", "").ok()) << id;
    EXPECT_TRUE(Eventually([&] {
      return b_.Status(id) == v1::TASK_STATUS_COMPLETED;
    })) << id;
  }
}

TEST_F(LeaseKeeperTest, ADrainingDaemonClaimsNothing) {
  a_.Join();
  for (const char* id : {"t1", "t2", "t3"}) ASSERT_TRUE(a_.Submit(id).ok());
  clock_.Advance(absl::Seconds(31));  // a_ stalls; its tasks are free
  b_.Join();
  b_.node->keeper().StopClaiming();
  b_.node->keeper().ClaimNow();
  EXPECT_EQ(b_.runner->live_count(), 0u);
}

}  // namespace
}  // namespace corosched::server
