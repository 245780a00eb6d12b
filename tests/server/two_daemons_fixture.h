#pragma once

// A test fixture: two daemons, A and B, on one PostgreSQL (docs/scale-out.md),
// with a stub for each. The suite runs under
// tests/testing/with_test_postgres.sh, which starts a private PostgreSQL and
// names it in COROSCHED_TEST_POSTGRES_URL. Each daemon drains within 1 s and
// must exit 0 when the test stops it.

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "corosched/v1/scheduler.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {

class TwoDaemonsTest : public ::testing::Test {
 protected:
  // Short, so that claims (every fifth of it) come within the tests' waits.
  static constexpr char kLease[] = "3s";

  // `extra_args`: more daemon flags, for both.
  explicit TwoDaemonsTest(std::vector<std::string> extra_args = {})
      : extra_args_(std::move(extra_args)) {}

  void SetUp() override {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread starts
    const char* url = std::getenv("COROSCHED_TEST_POSTGRES_URL");
    ASSERT_NE(url, nullptr)
        << "run under tests/testing/with_test_postgres.sh (ctest does)";
    url_ = url;
    a_ = StartDaemon();
    b_ = StartDaemon();
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    stub_a_ = v1::Scheduler::NewStub(a_->NewChannel());
    stub_b_ = v1::Scheduler::NewStub(b_->NewChannel());
  }
  void TearDown() override {
    for (testing::ServerProcess* daemon : {a_.get(), b_.get()}) {
      if (daemon == nullptr || !daemon->running()) continue;
      absl::StatusOr<int> code = daemon->Stop();
      EXPECT_TRUE(code.ok() && *code == 0) << daemon->Stderr();
    }
  }

  std::unique_ptr<testing::ServerProcess> StartDaemon() {
    std::vector<std::string> args = {"--postgres-url",   url_,
                                     "--lease-duration", kLease,
                                     "--drain-timeout",  "1s"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    auto daemon = testing::ServerProcess::Start({.args = std::move(args)});
    EXPECT_TRUE(daemon.ok()) << daemon.status();
    return daemon.ok() ? *std::move(daemon) : nullptr;
  }

  const std::vector<std::string> extra_args_;
  std::string url_;
  std::unique_ptr<testing::ServerProcess> a_;
  std::unique_ptr<testing::ServerProcess> b_;
  std::unique_ptr<v1::Scheduler::Stub> stub_a_;
  std::unique_ptr<v1::Scheduler::Stub> stub_b_;
};

}  // namespace corosched::e2e
