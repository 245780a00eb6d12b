// One daemon on the PostgreSQL store (--postgres-url), end to end: a task
// runs and is read back after a restart, and a daemon that starts after
// another was killed resumes its task once that one's lease expired, with a
// higher fencing epoch. Each test has a database of its own on the server
// tests/testing/with_test_postgres.sh starts.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/testing/postgres_test_database.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

class PostgresDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (server::PostgresTestDatabase::ServerUrl().empty()) {
      GTEST_SKIP() << "COROSCHED_TEST_POSTGRES_URL is not set; run under "
                      "tests/testing/with_test_postgres.sh";
    }
    ASSERT_TRUE(db_.error().ok()) << db_.error();
  }

  void Open() {
    auto started = testing::ServerProcess::Start(
        {.args = {"--postgres-url", db_.url(), "--lease-duration", "2s",
                  "--drain-timeout", "1s"}});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    stub_ = v1::Scheduler::NewStub(server_->NewChannel());
  }

  std::string Text(const std::string& query) {
    return db_.QueryText(query).value_or("<error>");
  }

  server::PostgresTestDatabase db_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

TEST_F(PostgresDaemonTest, ATaskRunsAndIsReadBackAfterARestart) {
  Open();
  const v1::Task task = Submit(*stub_, LoadExample("hello.json"));
  const WatchResult watched = Watch(*stub_, task.id());
  EXPECT_TRUE(watched.status.ok()) << watched.status.error_message();
  EXPECT_EQ(OutputText(watched.events), "Hello, World!\n");
  absl::StatusOr<int> stopped = server_->Stop();
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0) << server_->Stderr();
  EXPECT_THAT(server_->Stderr(), ::testing::HasSubstr("store=postgres"));

  Open();
  const v1::Task again = GetTask(*stub_, task.id());
  EXPECT_EQ(again.status(), v1::TASK_STATUS_COMPLETED) << again.DebugString();
  EXPECT_EQ(OutputText(Watch(*stub_, task.id()).events), "Hello, World!\n");
}

TEST_F(PostgresDaemonTest,
       ANewDaemonResumesATaskOnceTheKilledOnesLeaseExpired) {
  Open();
  const v1::Task task = Submit(*stub_, AwaitGo());
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, task.id()).status() == v1::TASK_STATUS_AWAITING;
  }));
  server_->Kill();
  // The dead daemon holds its task for --lease-duration (2 s) after its
  // last renewal; a daemon that starts later claims it.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Text(
                   "SELECT count(*) FROM corosched_daemons "
                   "WHERE lease_until > now()") == "0";
      },
      absl::Seconds(30)));
  Open();
  v1::WakeTaskRequest wake;
  wake.set_task_id(task.id());
  wake.set_signal("go");
  v1::WakeTaskResponse woken;
  ASSERT_TRUE(stub_->WakeTask(Deadline().get(), wake, &woken).ok());
  const WatchResult watched = Watch(*stub_, task.id());
  ASSERT_FALSE(watched.events.empty());
  ASSERT_TRUE(watched.events.back().has_finished());
  EXPECT_EQ(watched.events.back().finished().result(), "went");
  EXPECT_EQ(Text(absl::StrCat("SELECT epoch FROM corosched_tasks WHERE key = '",
                              task.id(), "'")),
            "2");
  EXPECT_EQ(Text(absl::StrCat("SELECT max(epoch) FROM corosched_task_events "
                              "WHERE task_key = '",
                              task.id(), "'")),
            "2");
}

}  // namespace
}  // namespace corosched::e2e
