// PostgresStore's WorkRoutingStore half (work_routing_store.h) on a real
// server: advertisements of waiting consumers, and handovers that follow
// the task's own writes, notify the target, and steer the claims. Each test
// has a database of its own on the server that
// tests/testing/with_test_postgres.sh starts.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/postgres_store.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/postgres_test_database.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using test_records::Output;
using test_records::Task;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr absl::Duration kPatience = absl::Seconds(60);

// The handovers a store's daemon was told of.
class Handovers {
 public:
  ClusterCallbacks Callbacks() {
    ClusterCallbacks callbacks;
    callbacks.on_handover = [this](const std::string& id) {
      absl::MutexLock lock(&mu_);
      told_.push_back(id);
    };
    // "": the listener (re)connected and runs LISTEN from here on.
    callbacks.on_inbox = [this](const std::string& id) {
      absl::MutexLock lock(&mu_);
      if (id.empty()) listening_ = true;
    };
    return callbacks;
  }
  // A notification sent before the LISTEN ran is lost (the daemon's sweep
  // and claim loop would find the task; these tests wait for the
  // notification itself), so a test waits for this first.
  bool WaitUntilListening() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&listening_), kPatience);
  }
  bool WaitFor(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto told = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::find(told_.begin(), told_.end(), id) != told_.end();
    };
    return mu_.AwaitWithTimeout(absl::Condition(&told), kPatience);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> told_ ABSL_GUARDED_BY(mu_);
  bool listening_ ABSL_GUARDED_BY(mu_) = false;
};

TaskProgress Progress(uint64_t polls) {
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_WORKING);
  progress.snapshot.mutable_steps()->set_polls(polls);
  progress.events = {Output(absl::StrCat("poll ", polls))};
  return progress;
}

absl::Status HandOver(PostgresStore& store, const std::string& id,
                      const std::string& target) {
  absl::Notification answered;
  absl::Status result;
  store.HandOverAsync(id, target, [&](absl::Status status) {
    result = std::move(status);
    answered.Notify();
  });
  answered.WaitForNotification();
  return result;
}

std::vector<std::string> Ids(const std::vector<ClaimedTask>& claimed) {
  std::vector<std::string> ids;
  ids.reserve(claimed.size());
  for (const ClaimedTask& task : claimed) ids.push_back(task.record.id);
  return ids;
}

class PostgresWorkRoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresTestDatabase::ServerUrl().empty()) {
      GTEST_SKIP() << "COROSCHED_TEST_POSTGRES_URL is not set; run under "
                      "tests/testing/with_test_postgres.sh";
    }
    ASSERT_TRUE(db_.error().ok()) << db_.error();
  }

  std::unique_ptr<PostgresStore> Daemon(Handovers* handovers = nullptr) {
    auto opened = PostgresStore::Open({.url = db_.url(), .connections = 2});
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return nullptr;
    if (handovers != nullptr) {
      (*opened)->SetClusterCallbacks(handovers->Callbacks());
    }
    EXPECT_TRUE((*opened)->Join(absl::Minutes(10)).ok());
    return *std::move(opened);
  }

  std::string Text(const std::string& query) {
    return db_.QueryText(query).value_or("<error>");
  }
  void Sql(const std::string& sql) { ASSERT_TRUE(db_.Exec(sql).ok()) << sql; }

  PostgresTestDatabase db_;
};

TEST_F(PostgresWorkRoutingTest, AdvertisementsOfOtherLiveDaemonsAreFound) {
  auto a = Daemon();
  auto b = Daemon();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(b->AdvertiseConsumers({{"jobs", "", 2}, {"mail", "", 1}},
                                    absl::Seconds(30))
                  .ok());
  auto found = a->FindConsumers({"jobs", "other"});
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].queue, "jobs");
  EXPECT_EQ((*found)[0].daemon_id, b->daemon_id());
  EXPECT_EQ((*found)[0].consumers, 2u);
  // A daemon does not find its own.
  EXPECT_THAT(b->FindConsumers({"jobs"}).value(), IsEmpty());
  // Renewed in place, not added.
  ASSERT_TRUE(b->AdvertiseConsumers({{"jobs", "", 5}}, absl::Seconds(30)).ok());
  EXPECT_EQ(a->FindConsumers({"jobs"}).value().at(0).consumers, 5u);
  EXPECT_EQ(Text("SELECT count(*) FROM corosched_work_consumers"), "2");
}

TEST_F(PostgresWorkRoutingTest, LapsedAdvertisementsAndDeadDaemonsAreNotFound) {
  auto a = Daemon();
  auto b = Daemon();
  auto c = Daemon();
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(b->AdvertiseConsumers({{"jobs", "", 1}}, absl::Seconds(30)).ok());
  ASSERT_TRUE(c->AdvertiseConsumers({{"jobs", "", 1}}, absl::Seconds(30)).ok());
  Sql(
      absl::StrCat("UPDATE corosched_work_consumers SET seen_until = now() - "
                   "interval '1 s' WHERE daemon = '",
                   b->daemon_id(), "'"));
  Sql(
      absl::StrCat("UPDATE corosched_daemons SET lease_until = now() - "
                   "interval '1 s' WHERE id = '",
                   c->daemon_id(), "'"));
  EXPECT_THAT(a->FindConsumers({"jobs"}).value(), IsEmpty());
}

TEST_F(PostgresWorkRoutingTest, AHandoverFollowsTheTasksWritesAndNotifies) {
  Handovers told;
  auto a = Daemon();
  auto b = Daemon(&told);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(told.WaitUntilListening());
  ASSERT_TRUE(BlockingStore(*a)
                  .CreateTask(Task("t", v1::TASK_STATUS_READY), {Output("0")})
                  .ok());
  // Queued, not awaited: the handover must still come after it.
  absl::Notification progressed;
  a->RecordProgressAsync("t", Progress(1),
                         [&](const absl::StatusOr<uint64_t>& stored) {
                           EXPECT_TRUE(stored.ok()) << stored.status();
                           progressed.Notify();
                         });
  ASSERT_TRUE(HandOver(*a, "t", b->daemon_id()).ok());
  progressed.WaitForNotification();
  EXPECT_EQ(a->OwnedEpoch("t"), 0u);
  EXPECT_EQ(Text("SELECT coalesce(owner, 'none') || ' ' || handoff_to FROM "
                 "corosched_tasks WHERE key = 't'"),
            "none " + b->daemon_id());
  EXPECT_TRUE(told.WaitFor("t"));
  // Later writes of the giver are refused.
  EXPECT_TRUE(
      IsLeaseLost(BlockingStore(*a).RecordProgress("t", Progress(2)).status()));
  auto claimed = b->ClaimTasks(10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].record.snapshot.steps().polls(), 1u);
  EXPECT_EQ((*claimed)[0].epoch, 2u);
  EXPECT_EQ(Text("SELECT coalesce(handoff_to, 'cleared') FROM "
                 "corosched_tasks WHERE key = 't'"),
            "cleared");
}

TEST_F(PostgresWorkRoutingTest, AHandoverOfATaskNotHeldIsRefused) {
  auto a = Daemon();
  auto b = Daemon();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(
      BlockingStore(*a).CreateTask(Task("t", v1::TASK_STATUS_READY), {}).ok());
  EXPECT_TRUE(IsLeaseLost(HandOver(*b, "t", a->daemon_id())));
  EXPECT_TRUE(IsLeaseLost(HandOver(*a, "unknown", b->daemon_id())));
  EXPECT_EQ(a->OwnerOf("t").value_or("?"), a->daemon_id());
}

TEST_F(PostgresWorkRoutingTest, TheTargetClaimsFirstAndOthersWaitTheirTurn) {
  auto a = Daemon();
  auto b = Daemon();
  auto c = Daemon();
  ASSERT_TRUE(a && b && c);
  for (const char* id : {"released", "handed"}) {
    ASSERT_TRUE(
        BlockingStore(*a).CreateTask(Task(id, v1::TASK_STATUS_READY), {}).ok());
  }
  ASSERT_TRUE(a->ReleaseTasks({"released"}).ok());
  ASSERT_TRUE(HandOver(*a, "handed", b->daemon_id()).ok());
  // C leaves the task handed to B alone while B is alive and the handover
  // is fresh.
  auto by_c = c->ClaimTasks(10);
  ASSERT_TRUE(by_c.ok()) << by_c.status();
  EXPECT_THAT(Ids(*by_c), ElementsAre("released"));
  // Then anyone may claim it.
  Sql("UPDATE corosched_tasks SET handoff_at = now() - interval '1 minute' "
      "WHERE key = 'handed'");
  auto later = c->ClaimTasks(10);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_THAT(Ids(*later), ElementsAre("handed"));
}

TEST_F(PostgresWorkRoutingTest, ATaskHandedToADeadDaemonIsClaimedAtOnce) {
  auto a = Daemon();
  auto b = Daemon();
  auto c = Daemon();
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(
      BlockingStore(*a).CreateTask(Task("t", v1::TASK_STATUS_READY), {}).ok());
  ASSERT_TRUE(HandOver(*a, "t", b->daemon_id()).ok());
  Sql(
      absl::StrCat("UPDATE corosched_daemons SET lease_until = now() - "
                   "interval '1 s' WHERE id = '",
                   b->daemon_id(), "'"));
  auto claimed = c->ClaimTasks(10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Ids(*claimed), ElementsAre("t"));
}

TEST_F(PostgresWorkRoutingTest, TheTargetTakesItsHandedTasksBeforeOthers) {
  auto a = Daemon();
  auto b = Daemon();
  ASSERT_TRUE(a && b);
  // Older and so more due than the handed one.
  ASSERT_TRUE(BlockingStore(*a)
                  .CreateTask(Task("old", v1::TASK_STATUS_READY), {})
                  .ok());
  ASSERT_TRUE(BlockingStore(*a)
                  .CreateTask(Task("new", v1::TASK_STATUS_READY), {})
                  .ok());
  ASSERT_TRUE(a->ReleaseTasks({"old"}).ok());
  ASSERT_TRUE(HandOver(*a, "new", b->daemon_id()).ok());
  auto claimed = b->ClaimTasks(1);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Ids(*claimed), ElementsAre("new"));
}

}  // namespace
}  // namespace corosched::server
