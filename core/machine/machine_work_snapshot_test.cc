// The whole-task timeout, and snapshots of tasks in work states.

#include <functional>
#include <string>
#include <vector>

#include "core/machine/machine.h"
#include "core/machine/proto_time.h"
#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using Next = PollOutcome::Next;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

// A task with a 30s timeout whose FETCH retries every error after a minute
// (with full jitter, so before the timeout) and sleeps 100s in NAP before it
// completes.
std::shared_ptr<const Program> Timed() {
  return CompileOrDie(R"({"name": "timed", "initial": "FETCH",
    "timeout": "30s", "states": {
      "FETCH": {"work": {"queue": "q", "timeout": "5s", "next": "NAP",
                         "resultVariable": "r", "input": "${n}"},
                "retry": [{"errors": ["*"], "interval": "20s",
                           "maxAttempts": 4, "jitter": "JITTER_FULL"}]},
      "NAP": {"emit": "nap ${r}", "sleep": {"duration": "100s", "next": "END"}},
      "END": {"complete": {"result": "${r}"}}}})");
}

Machine StartTimed(uint64_t seed = 0) {
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"].set_number(5);
  return *Machine::Start(Timed(), inputs, StartOptions{seed});
}

google::protobuf::Value Number(double n) {
  google::protobuf::Value value;
  value.set_number_value(n);
  return value;
}

TEST(TaskTimeoutTest, FailsAWorkingTask) {
  Machine machine = StartTimed();
  const PollOutcome first = machine.Poll(kStart);
  EXPECT_EQ(first.next, Next::kWork);
  EXPECT_EQ(first.deadline, kStart + absl::Seconds(30));
  EXPECT_EQ(machine.task_deadline(), kStart + absl::Seconds(30));
  const PollOutcome waiting = machine.Poll(kStart + absl::Seconds(29));
  EXPECT_EQ(waiting.next, Next::kWait);
  EXPECT_EQ(waiting.deadline, kStart + absl::Seconds(30));
  EXPECT_EQ(machine.Poll(kStart + absl::Seconds(30)).next, Next::kEnded);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_EQ(machine.error(),
            "timeout: the task's timeout of 30s passed (in state FETCH)");
  EXPECT_EQ(machine.work(), nullptr);
}

TEST(TaskTimeoutTest, FailsATaskInBackoffAndBoundsEveryDeadline) {
  Machine machine = StartTimed();
  machine.Poll(kStart + absl::Seconds(1));  // the deadline is +31s
  ASSERT_TRUE(machine.FailWork(1, {"x", "", true}, kStart).ok());
  ASSERT_EQ(machine.status(), v1::TASK_STATUS_SLEEPING);
  const PollOutcome outcome = machine.Poll(kStart + absl::Seconds(2));
  EXPECT_EQ(outcome.deadline,
            std::min(*machine.deadline(), kStart + absl::Seconds(31)));
  EXPECT_EQ(machine.Poll(kStart + absl::Seconds(31)).next, Next::kEnded);
  EXPECT_THAT(machine.error(), ::testing::HasSubstr("timeout: "));
}

TEST(TaskTimeoutTest, BoundsASleepStatesDeadline) {
  Machine machine = StartTimed();
  machine.Poll(kStart);
  ASSERT_TRUE(machine.CompleteWork(1, Number(1), kStart).ok());
  const PollOutcome outcome = machine.Poll(kStart + absl::Seconds(1));
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_SLEEPING);
  EXPECT_EQ(*machine.deadline(), kStart + absl::Seconds(101));
  EXPECT_EQ(outcome.deadline, kStart + absl::Seconds(30));
}

TEST(WorkSnapshotTest, HoldsTheAttemptTheTaskDeadlineAndTheSeed) {
  Machine machine = StartTimed(99);
  machine.Poll(kStart);
  const v1::TaskSnapshot snapshot = machine.Snapshot();
  EXPECT_EQ(snapshot.status(), v1::TASK_STATUS_WORKING);
  EXPECT_EQ(snapshot.work().attempt(), 1u);
  EXPECT_EQ(snapshot.work().queue(), "q");
  EXPECT_EQ(snapshot.work().input().number_value(), 5);
  EXPECT_EQ(*FromProtoTimestamp(snapshot.work().scheduled_at()), kStart);
  EXPECT_EQ(*FromProtoTimestamp(snapshot.task_deadline()),
            kStart + absl::Seconds(30));
  EXPECT_EQ(snapshot.random_seed(), 99u);
}

TEST(WorkSnapshotTest, ARestoredWorkingTaskWaitsAndKeepsTheLease) {
  Machine machine = StartTimed();
  machine.Poll(kStart);
  v1::TaskSnapshot snapshot = machine.Snapshot();
  snapshot.mutable_work()->mutable_lease()->set_worker_identity("w1");
  absl::StatusOr<Machine> restored = Machine::Restore(Timed(), snapshot);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->status(), v1::TASK_STATUS_WORKING);
  EXPECT_EQ(restored->work_order()->attempt, 1u);
  EXPECT_EQ(restored->work()->lease().worker_identity(), "w1");
  const PollOutcome outcome = restored->Poll(kStart + absl::Seconds(1));
  EXPECT_EQ(outcome.next, Next::kWait);  // the daemon re-queues it itself
  EXPECT_EQ(outcome.deadline, kStart + absl::Seconds(30));
  // A new attempt has no lease yet.
  ASSERT_TRUE(restored->FailWork(1, {"x", "", true}, kStart).ok());
  restored->Poll(*restored->deadline());
  ASSERT_EQ(restored->work_order()->attempt, 2u);
  EXPECT_FALSE(restored->work()->has_lease());
}

TEST(WorkSnapshotTest, RefusesAWorkingSnapshotWithoutItsWork) {
  Machine machine = StartTimed();
  machine.Poll(kStart);
  v1::TaskSnapshot snapshot = machine.Snapshot();
  snapshot.clear_work();
  EXPECT_EQ(Machine::Restore(Timed(), snapshot).status().code(),
            absl::StatusCode::kInvalidArgument);
  snapshot = machine.Snapshot();
  snapshot.set_state("NAP");
  EXPECT_EQ(Machine::Restore(Timed(), snapshot).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// One step of a scripted run: what it did, for comparing runs.
using Step = std::function<std::string(Machine&)>;

Step PollAt(absl::Duration offset) {
  return [offset](Machine& machine) {
    std::string output;
    const PollOutcome outcome =
        testing::PollInto(machine, kStart + offset, &output);
    return absl::StrCat(
        "poll ", static_cast<int>(outcome.next), " ", outcome.steps, " ",
        outcome.deadline ? absl::FormatTime(*outcome.deadline) : "-", " ",
        output, machine.work_order() ? machine.work_order()->attempt : 0);
  };
}

Step Fail(uint32_t attempt, absl::Duration offset) {
  return [=](Machine& machine) {
    return absl::StrCat(
        "fail ",
        machine.FailWork(attempt, {"x", "m", true}, kStart + offset).ToString(),
        " ", v1::TaskStatus_Name(machine.status()), " ",
        machine.deadline() ? absl::FormatTime(*machine.deadline()) : "-");
  };
}

Step Complete(uint32_t attempt) {
  return [=](Machine& machine) {
    return absl::StrCat(
        "complete ",
        machine.CompleteWork(attempt, Number(7), kStart).ToString());
  };
}

TEST(WorkSnapshotTest, RestoringAtAnyPointGivesTheSameRun) {
  // Jittered back-offs all fit before the 30s timeout when the retries come
  // quickly; the run ends whichever way the seed draws.
  const std::vector<Step> script = {
      PollAt(absl::ZeroDuration()),
      Fail(1, absl::ZeroDuration()),
      PollAt(absl::Seconds(1)),
      PollAt(absl::Seconds(29)),
      Fail(2, absl::Seconds(29)),
      PollAt(absl::Seconds(29)),
      Complete(2),
      Complete(3),
      PollAt(absl::Seconds(29)),
      PollAt(absl::Seconds(40)),
  };
  for (uint64_t seed : {1, 2, 3}) {
    Machine original = StartTimed(seed);
    std::vector<std::string> trace;
    for (const Step& step : script) trace.push_back(step(original));
    for (size_t cut = 0; cut <= script.size(); ++cut) {
      Machine first = StartTimed(seed);
      std::vector<std::string> resumed;
      for (size_t i = 0; i < cut; ++i) resumed.push_back(script[i](first));
      absl::StatusOr<Machine> second =
          Machine::Restore(first.shared_program(), first.Snapshot());
      ASSERT_TRUE(second.ok()) << second.status();
      for (size_t i = cut; i < script.size(); ++i) {
        resumed.push_back(script[i](*second));
      }
      EXPECT_EQ(resumed, trace)
          << "seed " << seed << ", restored after step " << cut;
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          second->Snapshot(), original.Snapshot()));
    }
  }
}

}  // namespace
}  // namespace corosched::machine
