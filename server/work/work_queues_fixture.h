#pragma once

// Test-only: a WorkQueues on a ManualClock that records its outcomes.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "gtest/gtest.h"
#include "server/work/work_queues.h"

namespace corosched::server {

class WorkQueuesTest : public ::testing::Test {
 protected:
  static WorkSpec Spec(std::string task_id, std::string queue = "jobs",
                       uint32_t attempt = 1) {
    WorkSpec spec;
    spec.task_id = std::move(task_id);
    spec.queue = std::move(queue);
    spec.attempt = attempt;
    spec.timeout = absl::Hours(1);
    spec.input.set_string_value("input of " + spec.task_id);
    return spec;
  }

  // Polls without waiting; the answer comes before Poll returns.
  std::vector<WorkLease> PollNow(const std::string& queue = "jobs",
                                 uint32_t max_items = 1,
                                 std::string worker = "worker-1") {
    std::optional<std::vector<WorkLease>> answer;
    auto id = queues_.Poll(
        {queue, std::move(worker), max_items, absl::ZeroDuration()},
        [&answer](std::vector<WorkLease> leases) {
          answer = std::move(leases);
        });
    EXPECT_TRUE(id.ok()) << id.status();
    EXPECT_TRUE(answer.has_value()) << "a poll without wait answers at once";
    return answer.has_value() ? *std::move(answer) : std::vector<WorkLease>{};
  }

  // Enqueues `spec` and leases it; REQUIRES: nothing else queued there.
  WorkLease EnqueueAndLease(WorkSpec spec) {
    const std::string queue = spec.queue;
    EXPECT_TRUE(queues_.Enqueue(std::move(spec)).ok());
    std::vector<WorkLease> leases = PollNow(queue);
    EXPECT_EQ(leases.size(), 1u);
    return leases.empty() ? WorkLease{} : std::move(leases.front());
  }

  std::vector<WorkOutcome> outcomes() {
    absl::MutexLock lock(&mu_);
    return outcomes_;
  }

  ManualClock clock_;
  absl::Mutex mu_;
  std::vector<WorkOutcome> outcomes_ ABSL_GUARDED_BY(mu_);
  WorkQueues queues_{clock_, [this](WorkOutcome outcome) {
                       absl::MutexLock lock(&mu_);
                       outcomes_.push_back(std::move(outcome));
                     }};
};

}  // namespace corosched::server
