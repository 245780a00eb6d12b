#pragma once

// A fixture for end-to-end tests that run real daemons one after another on
// one data directory of the test's own: start, kill -9, restart, and read
// what survived.

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {

class DataDirDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/corosched-durability-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    data_dir_ = dir;
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(data_dir_);
  }

  // Starts a daemon on data_dir_, after `extra` flags.
  absl::StatusOr<std::unique_ptr<testing::ServerProcess>> Launch(
      std::vector<std::string> extra = {},
      std::vector<std::string> prefix = {}) {
    std::vector<std::string> args = {"--data-dir", data_dir_, "--drain-timeout",
                                     "1s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::ServerProcess::Launch(
        {.args = std::move(args), .command_prefix = std::move(prefix)});
  }

  // Launches and waits until it serves; the test's daemon from then on.
  void Open(std::vector<std::string> extra = {}) {
    auto server = Launch(std::move(extra));
    ASSERT_TRUE(server.ok()) << server.status();
    absl::Status ready = (*server)->WaitUntilReady(absl::Seconds(30));
    ASSERT_TRUE(ready.ok()) << ready << (*server)->Stderr();
    server_ = *std::move(server);
    stub_ = v1::Scheduler::NewStub(server_->NewChannel());
    opened_at_ = absl::Now();
  }

  // kill -9: nothing gets to flush or say goodbye.
  void Crash() {
    stub_.reset();
    if (server_ != nullptr) server_->Kill();
    server_.reset();
  }
  void Close() {
    stub_.reset();
    if (server_ == nullptr) return;
    absl::StatusOr<int> code = server_->Stop();
    EXPECT_TRUE(code.ok() && *code == 0) << server_->Stderr();
    server_.reset();
  }

  v1::Task AwaitEnd(const std::string& id,
                    absl::Duration timeout = absl::Seconds(30)) {
    v1::Task task;
    WaitFor(
        [&] {
          task = GetTask(*stub_, id);
          return task.has_finished_at();
        },
        timeout);
    return task;
  }

  grpc::Status Wake(const std::string& id, const std::string& request_id,
                    v1::WakeTaskResponse* response) {
    v1::WakeTaskRequest request;
    request.set_task_id(id);
    request.set_signal("go");
    request.set_request_id(request_id);
    return stub_->WakeTask(Deadline().get(), request, response);
  }

  std::string data_dir_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
  absl::Time opened_at_;
};

}  // namespace corosched::e2e
