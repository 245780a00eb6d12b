// PostgresStore beyond the TaskStore contract (which the contract suite
// checks): schema migration, leases and fencing between two daemons on one
// database, claims, the inbox with real notifications, and a server restart
// in the middle of use. Each test has a database of its own on the server
// that tests/testing/with_test_postgres.sh starts.

#include "server/store/postgres_store.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/postgres_schema.h"
#include "server/store/testing/blocking_store.h"
#include "server/store/testing/postgres_test_database.h"
#include "server/store/testing/store_test_records.h"

namespace corosched::server {
namespace {

using test_records::Finish;
using test_records::kT0;
using test_records::Output;
using test_records::Task;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// Generous: only a broken store takes this long.
constexpr absl::Duration kPatience = absl::Seconds(60);

// What a store's cluster callbacks were told.
class Calls {
 public:
  ClusterCallbacks Callbacks() {
    return {.on_lease_lost =
                [this](const std::string& id) {
                  absl::MutexLock lock(&mu_);
                  lost_.push_back(id);
                },
            .on_inbox =
                [this](const std::string& id) {
                  absl::MutexLock lock(&mu_);
                  inbox_.push_back(id);
                }};
  }
  std::vector<std::string> lost() {
    absl::MutexLock lock(&mu_);
    return lost_;
  }
  // Waits until on_inbox was called `times` times with `id` ("": the
  // listener (re)connected).
  bool WaitForInbox(const std::string& id, int times = 1) {
    absl::MutexLock lock(&mu_);
    auto told = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::count(inbox_.begin(), inbox_.end(), id) >= times;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&told), kPatience);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lost_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> inbox_ ABSL_GUARDED_BY(mu_);
};

template <typename T>
absl::StatusOr<T> Wait(absl::FunctionRef<void(TaskStore::Done<T>)> start) {
  absl::Notification answered;
  std::optional<absl::StatusOr<T>> result;
  start([&](absl::StatusOr<T> outcome) {
    result = std::move(outcome);
    answered.Notify();
  });
  answered.WaitForNotification();
  return *std::move(result);
}

absl::StatusOr<InboxReceipt> Enqueue(PostgresStore& store,
                                     const std::string& id,
                                     const std::string& request_id) {
  InboxMessage message;
  message.task_id = id;
  message.request_id = request_id;
  message.signal.set_name("go");
  return Wait<InboxReceipt>([&](TaskStore::Done<InboxReceipt> done) {
    store.EnqueueInboxAsync(message, std::move(done));
  });
}

TaskProgress Progress(uint64_t polls, const std::string& text) {
  TaskProgress progress;
  progress.snapshot.set_status(v1::TASK_STATUS_READY);
  progress.snapshot.mutable_steps()->set_polls(polls);
  progress.events = {Output(text)};
  progress.durable = true;
  return progress;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresTestDatabase::ServerUrl().empty()) {
      GTEST_SKIP() << "COROSCHED_TEST_POSTGRES_URL is not set; run under "
                      "tests/testing/with_test_postgres.sh";
    }
    ASSERT_TRUE(db_.error().ok()) << db_.error();
  }

  // A store that has joined, as a daemon's would be.
  std::unique_ptr<PostgresStore> Daemon(Calls* calls = nullptr) {
    auto opened = PostgresStore::Open({.url = db_.url(), .connections = 2});
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return nullptr;
    if (calls != nullptr) (*opened)->SetClusterCallbacks(calls->Callbacks());
    EXPECT_TRUE((*opened)->Join(absl::Minutes(10)).ok());
    return *std::move(opened);
  }

  // Makes `store`'s daemon lease expire, as if it had stopped renewing.
  void ExpireLease(PostgresStore& store) {
    ASSERT_TRUE(db_.Exec(absl::StrCat("UPDATE corosched_daemons SET "
                                      "lease_until = now() - interval '1 s' "
                                      "WHERE id = '",
                                      store.daemon_id(), "'"))
                    .ok());
  }

  std::string Text(const std::string& query) {
    return db_.QueryText(query).value_or("<error>");
  }

  PostgresTestDatabase db_;
};

TEST_F(PostgresStoreTest, DaemonsStartingTogetherMigrateOnce) {
  constexpr int kDaemons = 6;
  std::vector<absl::Status> opened(kDaemons);
  std::vector<std::thread> threads;
  threads.reserve(kDaemons);
  for (int i = 0; i < kDaemons; ++i) {
    threads.emplace_back([&, i] {
      opened[i] =
          PostgresStore::Open({.url = db_.url(), .connections = 1}).status();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : opened) EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(Text("SELECT count(*) FROM corosched_schema_migrations"),
            absl::StrCat(kPostgresSchemaVersion));
  EXPECT_EQ(Text("SELECT max(version) FROM corosched_schema_migrations"),
            absl::StrCat(kPostgresSchemaVersion));
}

TEST_F(PostgresStoreTest, RefusesADatabaseFromANewerRelease) {
  ASSERT_TRUE(PostgresStore::Open({.url = db_.url()}).ok());
  ASSERT_TRUE(db_.Exec(absl::StrCat("INSERT INTO corosched_schema_migrations "
                                    "(version) VALUES (",
                                    kPostgresSchemaVersion + 1, ")"))
                  .ok());
  auto refused = PostgresStore::Open({.url = db_.url()});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("newer"));
}

TEST_F(PostgresStoreTest, AnUnreachableServerFailsOpenWithoutThePassword) {
  auto refused =
      PostgresStore::Open({.url = "postgresql://someone:hunter2@127.0.0.1:1/db",
                           .connect_timeout = absl::Seconds(2)});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(refused.status().message(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(RedactedUrl("host=h password=hunter2 dbname=d"),
            "host=h password=*** dbname=d");
}

TEST_F(PostgresStoreTest, AClaimFencesOutTheOwnerWhoseLeaseExpired) {
  Calls a_calls;
  auto a = Daemon(&a_calls);
  auto b = Daemon();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(BlockingStore(*a)
                  .CreateTask(Task("t", v1::TASK_STATUS_READY), {Output("0")})
                  .ok());
  ASSERT_TRUE(BlockingStore(*a).RecordProgress("t", Progress(1, "a1")).ok());
  EXPECT_EQ(a->OwnedEpoch("t"), 1u);
  auto none = b->ClaimTasks(10);  // A's lease is current
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());

  ExpireLease(*a);
  auto claimed = b->ClaimTasks(10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].record.id, "t");
  EXPECT_EQ((*claimed)[0].epoch, 2u);
  EXPECT_EQ((*claimed)[0].record.snapshot.steps().polls(), 1u);  // A's step
  EXPECT_EQ(b->OwnedEpoch("t"), 2u);

  absl::StatusOr<uint64_t> late =
      BlockingStore(*a).RecordProgress("t", Progress(2, "a2"));
  EXPECT_TRUE(IsLeaseLost(late.status())) << late.status();
  EXPECT_EQ(a_calls.lost(), std::vector<std::string>{"t"});
  EXPECT_EQ(a->OwnedEpoch("t"), 0u);
  EXPECT_TRUE(IsLeaseLost(a->RenewDaemonLease(absl::Minutes(10))));
  v1::PendingSignal signal;
  signal.set_sequence(1);
  EXPECT_TRUE(IsLeaseLost(BlockingStore(*a).RecordWakeSignal(
      "t", "", {v1::WakeTaskResponse::BUFFERED, 1}, signal)));

  ASSERT_TRUE(BlockingStore(*b).RecordProgress("t", Progress(2, "b2")).ok());
  EXPECT_TRUE(b->RenewDaemonLease(absl::Minutes(10)).ok());
  EXPECT_EQ(Text("SELECT string_agg(epoch || ':' || polls, ',' ORDER BY "
                 "sequence) FROM corosched_task_events WHERE task_key = 't'"),
            "1:0,1:1,2:2");
  EXPECT_EQ(b->OwnerOf("t").value_or("?"), b->daemon_id());
}

TEST_F(PostgresStoreTest, ReplacedCallbacksAreNotCalledAgain) {
  Calls calls;
  auto a = Daemon(&calls);
  auto b = Daemon();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(
      BlockingStore(*a).CreateTask(Task("t", v1::TASK_STATUS_READY), {}).ok());
  a->SetClusterCallbacks({});  // as a runtime does before it goes away
  ExpireLease(*a);
  ASSERT_EQ(b->ClaimTasks(10).value_or(std::vector<ClaimedTask>{}).size(), 1u);
  EXPECT_TRUE(IsLeaseLost(
      BlockingStore(*a).RecordProgress("t", Progress(1, "x")).status()));
  EXPECT_TRUE(calls.lost().empty());
}

TEST_F(PostgresStoreTest, ReleasedTasksAreClaimedAtOnce) {
  auto a = Daemon();
  auto b = Daemon();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(
      BlockingStore(*a).CreateTask(Task("t", v1::TASK_STATUS_READY), {}).ok());
  ASSERT_TRUE(a->ReleaseTasks({"t", "unknown"}).ok());
  EXPECT_EQ(a->OwnedEpoch("t"), 0u);
  EXPECT_EQ(a->OwnerOf("t").value_or("?"), "");
  auto claimed = b->ClaimTasks(10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].epoch, 2u);
  EXPECT_TRUE(IsLeaseLost(
      BlockingStore(*a).RecordProgress("t", Progress(1, "x")).status()));
}

TEST_F(PostgresStoreTest, ConcurrentClaimersNeverClaimTheSameTask) {
  constexpr int kTasks = 60;
  auto creator = Daemon();
  ASSERT_TRUE(creator);
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(
        BlockingStore(*creator)
            .CreateTask(Task(absl::StrCat("t", i), v1::TASK_STATUS_READY), {})
            .ok());
  }
  ASSERT_TRUE(creator->Leave().ok());  // every task free to claim
  auto b = Daemon();
  auto c = Daemon();
  ASSERT_TRUE(b && c);
  std::vector<std::string> by_b, by_c;
  auto claim_all = [](PostgresStore& store, std::vector<std::string>& ids) {
    for (;;) {
      auto claimed = store.ClaimTasks(3);
      ASSERT_TRUE(claimed.ok()) << claimed.status();
      if (claimed->empty()) return;
      for (const ClaimedTask& task : *claimed) ids.push_back(task.record.id);
    }
  };
  std::thread in_b([&] { claim_all(*b, by_b); });
  std::thread in_c([&] { claim_all(*c, by_c); });
  in_b.join();
  in_c.join();
  std::set<std::string> all(by_b.begin(), by_b.end());
  for (const std::string& id : by_c) {
    EXPECT_TRUE(all.insert(id).second) << id << " was claimed twice";
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kTasks));
}

TEST_F(PostgresStoreTest, TheInboxQueuesOnceAndNotifiesTheOwner) {
  Calls owner_calls;
  auto owner = Daemon(&owner_calls);
  auto other = Daemon();
  ASSERT_TRUE(owner && other);
  // A notification sent before the owner's LISTEN ran is not delivered (the
  // daemon's sweep would find it; this test waits for the notification).
  ASSERT_TRUE(owner_calls.WaitForInbox(""));
  BlockingStore blocking(*owner);
  ASSERT_TRUE(
      blocking.CreateTask(Task("t", v1::TASK_STATUS_AWAITING), {}).ok());

  auto queued = Enqueue(*other, "t", "r1");
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_FALSE(queued->duplicate);
  EXPECT_TRUE(owner_calls.WaitForInbox("t"));
  auto again = Enqueue(*other, "t", "r1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  // A request id the owner answered already is a duplicate too.
  v1::PendingSignal signal;
  signal.set_sequence(1);
  ASSERT_TRUE(blocking
                  .RecordWakeSignal("t", "r0",
                                    {v1::WakeTaskResponse::BUFFERED, 1}, signal)
                  .ok());
  EXPECT_TRUE(Enqueue(*other, "t", "r0")->duplicate);

  auto messages = owner->ReadInbox("t");
  ASSERT_TRUE(messages.ok()) << messages.status();
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ((*messages)[0].request_id, "r1");
  EXPECT_EQ((*messages)[0].signal.name(), "go");
  EXPECT_EQ((*messages)[0].id, queued->id);
  using Ids = std::vector<std::string>;
  EXPECT_EQ(owner->TasksWithInbox().value_or(Ids{"?"}), Ids{"t"});
  EXPECT_EQ(other->TasksWithInbox().value_or(Ids{"?"}), Ids{});
  ASSERT_TRUE(Wait<bool>([&](TaskStore::Done<bool> done) {
                owner->DeleteInboxAsync(
                    {queued->id},
                    [done = std::move(done)](const absl::Status& s) mutable {
                      if (s.ok()) {
                        std::move(done)(true);
                      } else {
                        std::move(done)(s);
                      }
                    });
              }).ok());
  EXPECT_TRUE(owner->ReadInbox("t")->empty());

  EXPECT_EQ(Enqueue(*other, "nobody", "").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(
      blocking.RecordProgress("t", Finish(v1::TASK_STATUS_COMPLETED, kT0))
          .ok());
  absl::Status ended = Enqueue(*other, "t", "r2").status();
  EXPECT_EQ(ended.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsLeaseLost(ended));
  EXPECT_THAT(ended.message(), HasSubstr("has ended (COMPLETED)"));
}

// tests/testing/postgres.sh, which can stop and start the test's server.
const char* ServerScript() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing sets the environment
  return std::getenv("COROSCHED_TEST_POSTGRES_SCRIPT");
}

// Stops or starts the test's server.
bool Server(const std::string& command) {
  if (ServerScript() == nullptr) return false;
  const std::string run = absl::StrCat(ServerScript(), " ", command);
  return std::system(run.c_str()) == 0;  // NOLINT(concurrency-mt-unsafe)
}

TEST_F(PostgresStoreTest, WritesAnswerUnavailableWhileTheServerIsDown) {
  if (ServerScript() == nullptr) {
    GTEST_SKIP() << "needs tests/testing/with_test_postgres.sh";
  }
  Calls calls;
  auto store = Daemon(&calls);
  ASSERT_TRUE(store);
  BlockingStore blocking(*store);
  ASSERT_TRUE(blocking.CreateTask(Task("t", v1::TASK_STATUS_READY), {}).ok());
  ASSERT_TRUE(
      blocking.CreateTask(Task("w", v1::TASK_STATUS_AWAITING), {}).ok());
  ASSERT_TRUE(calls.WaitForInbox(""));  // the listener is connected

  ASSERT_TRUE(Server("--stop-server"));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<CreateTaskResult> created = blocking.CreateTask(
        Task(absl::StrCat("down", i), v1::TASK_STATUS_READY), {});
    EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(blocking.RecordProgress("t", Progress(1, "lost")).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls.lost(), std::vector<std::string>{"t"});  // ahead of the db
  EXPECT_EQ(store->GetTask("t").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->ClaimTasks(10).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(Server("--start-server"));

  // The same store writes again once it has reconnected.
  const absl::Time deadline = absl::Now() + kPatience;
  absl::Status created = absl::UnknownError("not tried");
  for (int i = 0; absl::Now() < deadline; ++i) {
    created =
        blocking
            .CreateTask(Task(absl::StrCat("up", i), v1::TASK_STATUS_READY), {})
            .status();
    if (created.ok()) break;
    EXPECT_EQ(created.code(), absl::StatusCode::kUnavailable) << created;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(created.ok()) << created;
  EXPECT_EQ(Text("SELECT count(*) FROM corosched_tasks WHERE key LIKE 'down%'"),
            "0");
  // The task whose progress was lost is given up, for a daemon to resume.
  std::string released;
  while (absl::Now() < deadline) {
    released = Text("SELECT owner IS NULL FROM corosched_tasks WHERE key='t'");
    if (released == "true") break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(released, "true");
  // As if the claim that failed during the outage had committed and taken
  // `t`: the next claim gives such strays up first, then claims them.
  ASSERT_TRUE(db_.Exec(absl::StrCat("UPDATE corosched_tasks SET owner = '",
                                    store->daemon_id(),
                                    "', epoch = epoch + 1 WHERE key = 't'"))
                  .ok());
  auto claimed = store->ClaimTasks(10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].record.id, "t");
  EXPECT_EQ((*claimed)[0].epoch, 3u);
  // The listener is back too: it says so, and notifications arrive again.
  EXPECT_TRUE(calls.WaitForInbox("", 2));
  ASSERT_TRUE(Enqueue(*store, "w", "after").ok());
  EXPECT_TRUE(calls.WaitForInbox("w"));
}

}  // namespace
}  // namespace corosched::server
