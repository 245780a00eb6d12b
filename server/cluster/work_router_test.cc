// WorkRouter's decisions: what it advertises, and which tasks it hands to
// which daemon, against a recording WorkRoutingStore and a real WorkQueues.

#include "server/cluster/work_router.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues.h"

namespace corosched::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// The store's side, as the router sees it: advertisements recorded, the
// other daemons' consumers set by the test, handovers recorded.
class RecordingRoutingStore final : public WorkRoutingStore {
 public:
  absl::Status AdvertiseConsumers(const std::vector<QueueConsumers>& queues,
                                  absl::Duration ttl) override {
    absl::MutexLock lock(&mu_);
    if (!reachable_) return absl::UnavailableError("database down");
    std::vector<std::pair<std::string, uint64_t>> round;
    round.reserve(queues.size());
    for (const QueueConsumers& queue : queues) {
      round.emplace_back(queue.queue, queue.consumers);
    }
    advertisements_.push_back(std::move(round));
    ttl_ = ttl;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<QueueConsumers>> FindConsumers(
      const std::vector<std::string>& queues) override {
    absl::MutexLock lock(&mu_);
    if (!reachable_) return absl::UnavailableError("database down");
    std::vector<QueueConsumers> found;
    for (const QueueConsumers& consumers : others_) {
      for (const std::string& queue : queues) {
        if (consumers.queue == queue) found.push_back(consumers);
      }
    }
    return found;
  }
  void HandOverAsync(std::string task_id, std::string target,
                     TaskStore::StatusDone done) override {
    {
      absl::MutexLock lock(&mu_);
      handovers_.emplace_back(std::move(task_id), std::move(target));
    }
    done(absl::OkStatus());
  }

  void SetOthers(std::vector<QueueConsumers> others) {
    absl::MutexLock lock(&mu_);
    others_ = std::move(others);
  }
  void SetReachable(bool reachable) {
    absl::MutexLock lock(&mu_);
    reachable_ = reachable;
  }
  std::vector<std::vector<std::pair<std::string, uint64_t>>> advertisements() {
    absl::MutexLock lock(&mu_);
    return advertisements_;
  }
  absl::Duration ttl() {
    absl::MutexLock lock(&mu_);
    return ttl_;
  }
  std::vector<std::pair<std::string, std::string>> handovers() {
    absl::MutexLock lock(&mu_);
    return handovers_;
  }

 private:
  absl::Mutex mu_;
  bool reachable_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<QueueConsumers> others_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<std::pair<std::string, uint64_t>>> advertisements_
      ABSL_GUARDED_BY(mu_);
  absl::Duration ttl_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, std::string>> handovers_
      ABSL_GUARDED_BY(mu_);
};

class WorkRouterTest : public ::testing::Test {
 protected:
  WorkRouterTest() {
    WorkRouterHooks hooks;
    hooks.stats = [this] { return queues_.Stats(); };
    hooks.queued = [this](const std::string& queue, size_t max) {
      return queues_.QueuedTasks(queue, max);
    };
    // As TaskRunner::HandOver: only a task whose item still waits goes.
    hooks.hand_over = [this](const std::string& id,
                             absl::FunctionRef<void()> hand_over) {
      if (!queues_.Withdraw(id).has_value()) return false;
      hand_over();
      return true;
    };
    router_ = std::make_unique<WorkRouter>(store_, clock_, std::move(hooks),
                                           WorkRouterOptions{});
  }

  void Enqueue(const std::string& task, const std::string& queue = "jobs") {
    WorkSpec spec;
    spec.task_id = task;
    spec.queue = queue;
    spec.attempt = 1;
    spec.timeout = absl::Hours(1);
    ASSERT_TRUE(queues_.Enqueue(std::move(spec)).ok());
  }
  // A long poll parked on `queue`; its answer, if any, goes to `got`.
  WorkQueues::ConsumerId Park(const std::string& queue,
                              std::vector<WorkLease>* got = nullptr) {
    auto id = queues_.Poll({queue, "worker", 1, absl::Minutes(1)},
                           [got](std::vector<WorkLease> leases) {
                             if (got != nullptr) *got = std::move(leases);
                           });
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }

  ManualClock clock_;
  WorkQueues queues_{clock_, [](const WorkOutcome&) {}};
  RecordingRoutingStore store_;
  std::unique_ptr<WorkRouter> router_;
};

TEST_F(WorkRouterTest, AdvertisesQueuesWithWaitingConsumers) {
  Park("jobs");
  Park("jobs");
  Park("mail");
  router_->Look();
  EXPECT_THAT(store_.advertisements(),
              ElementsAre(ElementsAre(Pair("jobs", 2u), Pair("mail", 1u))));
  EXPECT_EQ(store_.ttl(), WorkRouterOptions{}.advertisement_ttl);
}

TEST_F(WorkRouterTest, RenewsAnAdvertisementOnlyWhenDue) {
  Park("jobs");
  router_->Look();
  clock_.Advance(absl::Milliseconds(500));
  router_->Look();
  EXPECT_EQ(store_.advertisements().size(), 1u) << "not due yet";
  clock_.Advance(absl::Milliseconds(600));
  router_->Look();
  EXPECT_EQ(store_.advertisements().size(), 2u) << "renewed after 1 s";
}

TEST_F(WorkRouterTest, AdvertisesANewlyWaitingQueueAtOnce) {
  Park("jobs");
  router_->Look();
  Park("mail");
  router_->Look();
  EXPECT_THAT(store_.advertisements(),
              ElementsAre(ElementsAre(Pair("jobs", 1u)),
                          ElementsAre(Pair("jobs", 1u), Pair("mail", 1u))));
}

TEST_F(WorkRouterTest, AdvertisesNothingWithoutConsumers) {
  Enqueue("t1");
  router_->Look();
  EXPECT_THAT(store_.advertisements(), IsEmpty());
}

TEST_F(WorkRouterTest, AFailedAdvertisementIsTriedAgainWhenTheRenewalIsDue) {
  Park("jobs");
  store_.SetReachable(false);
  router_->Look();
  store_.SetReachable(true);
  router_->Look();
  EXPECT_TRUE(store_.advertisements().empty()) << "not at every look";
  clock_.Advance(absl::Seconds(1));
  router_->Look();
  EXPECT_EQ(store_.advertisements().size(), 1u);
}

TEST_F(WorkRouterTest, HandsWaitingItemsToADaemonWhoseWorkersWait) {
  Enqueue("t1");
  Enqueue("t2");
  Enqueue("t3");
  store_.SetOthers({{"jobs", "b", 2}});
  EXPECT_EQ(router_->Look(), 2u);
  // Oldest first, up to the consumers b advertised.
  EXPECT_THAT(store_.handovers(),
              ElementsAre(Pair("t1", "b"), Pair("t2", "b")));
  EXPECT_THAT(queues_.QueuedTasks("jobs", 10), ElementsAre("t3"));
}

TEST_F(WorkRouterTest, SpreadsHandoversOverTheDaemonsThatWait) {
  Enqueue("t1");
  Enqueue("t2");
  Enqueue("t3");
  store_.SetOthers({{"jobs", "b", 1}, {"jobs", "c", 5}});
  EXPECT_EQ(router_->Look(), 3u);
  EXPECT_THAT(store_.handovers(),
              ElementsAre(Pair("t1", "b"), Pair("t2", "c"), Pair("t3", "c")));
}

TEST_F(WorkRouterTest, HandsOverOnlyFromQueuesWithWaitingItems) {
  // A queue with a parked poll has no waiting item (the poll takes it at
  // once: WorkQueues' invariant 4); its consumers are advertised instead.
  Enqueue("t1", "jobs");
  Park("mail");
  store_.SetOthers({{"jobs", "b", 1}, {"mail", "b", 1}});
  EXPECT_EQ(router_->Look(), 1u);
  EXPECT_THAT(store_.handovers(), ElementsAre(Pair("t1", "b")));
}

TEST_F(WorkRouterTest, KeepsItemsWhenNoOtherDaemonWaits) {
  Enqueue("t1");
  store_.SetOthers({{"mail", "b", 3}});
  EXPECT_EQ(router_->Look(), 0u);
  EXPECT_THAT(store_.handovers(), IsEmpty());
  EXPECT_THAT(queues_.QueuedTasks("jobs", 10), ElementsAre("t1"));
}

TEST_F(WorkRouterTest, AnItemLeasedLocallyFirstStaysLeasedHere) {
  Enqueue("t1");
  store_.SetOthers({{"jobs", "b", 1}});
  // A worker here takes it after the router listed it, before the handover:
  // the hook refuses, and the store hears nothing.
  WorkRouterHooks hooks;
  hooks.stats = [this] { return queues_.Stats(); };
  hooks.queued = [this](const std::string& queue, size_t max) {
    std::vector<std::string> tasks = queues_.QueuedTasks(queue, max);
    std::vector<WorkLease> got;
    Park(queue, &got);
    EXPECT_EQ(got.size(), 1u);
    return tasks;
  };
  hooks.hand_over = [this](const std::string& id,
                           absl::FunctionRef<void()> hand_over) {
    if (!queues_.Withdraw(id).has_value()) return false;
    hand_over();
    return true;
  };
  WorkRouter router(store_, clock_, std::move(hooks));
  EXPECT_EQ(router.Look(), 0u);
  EXPECT_THAT(store_.handovers(), IsEmpty());
  EXPECT_THAT(queues_.Stats(),
              ElementsAre(::testing::Field(&WorkQueueStats::leased, 1u)));
}

TEST_F(WorkRouterTest, HandsNothingOverWhileTheStoreCannotBeRead) {
  Enqueue("t1");
  store_.SetOthers({{"jobs", "b", 1}});
  store_.SetReachable(false);
  EXPECT_EQ(router_->Look(), 0u);
  EXPECT_THAT(queues_.QueuedTasks("jobs", 10), ElementsAre("t1"));
}

}  // namespace
}  // namespace corosched::server
