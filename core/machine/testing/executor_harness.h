#pragma once

// Runs task definitions on a real executor with a ManualClock, collecting
// their output, so tests move time by hand and never sleep. For tests only,
// through corosched_machine_testing.

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/executor.h"
#include "core/machine/machine_task.h"
#include "core/machine/testing/definitions.h"
#include "gtest/gtest.h"

namespace corosched::machine::testing {

// One task on its own two-worker executor.
class ExecutorHarness {
 public:
  ExecutorHarness() {
    absl::StatusOr<std::unique_ptr<Executor>> executor =
        Executor::Create({.workers = 2, .clock = &clock_});
    EXPECT_TRUE(executor.ok()) << executor.status();
    executor_ = *std::move(executor);
  }

  // Starts `machine`; its output is collected for output().
  void Spawn(Machine machine) {
    absl::StatusOr<SpawnedMachine> spawned =
        SpawnMachine(*executor_, std::move(machine),
                     [this](uint64_t, absl::string_view text) {
                       absl::MutexLock lock(&mu_);
                       output_.append(text.data(), text.size());
                     });
    ASSERT_TRUE(spawned.ok()) << spawned.status();
    task_ = std::move(spawned->task);
    handle_.emplace(std::move(spawned->handle));
  }

  // Starts the definition in `json` with `inputs`.
  void Start(absl::string_view json,
             const google::protobuf::Map<std::string, v1::Value>& inputs = {}) {
    absl::StatusOr<Machine> machine =
        Machine::Start(CompileOrDie(json), inputs);
    ASSERT_TRUE(machine.ok()) << machine.status();
    Spawn(*std::move(machine));
  }

  // Waits (spinning, bounded) until the task's snapshot satisfies `done`.
  void WaitFor(absl::FunctionRef<bool(const v1::TaskSnapshot&)> done) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    v1::TaskSnapshot snapshot = task_->Snapshot();
    while (!done(snapshot)) {
      ASSERT_LT(absl::Now(), give_up) << "stuck at " << snapshot.DebugString();
      std::this_thread::yield();
      snapshot = task_->Snapshot();
    }
  }

  // Waits until the task suspends in `status` at `state`, having emitted
  // `outputs` chunks so far.
  void WaitFor(v1::TaskStatus status, absl::string_view state,
               uint64_t outputs) {
    WaitFor([&](const v1::TaskSnapshot& snapshot) {
      return snapshot.status() == status && snapshot.state() == state &&
             snapshot.output_sequence() == outputs;
    });
  }

  WakeReceipt::Disposition Wake(absl::string_view name,
                                absl::string_view payload_json = "{}") {
    absl::StatusOr<WakeReceipt> receipt =
        task_->Wake(MakeSignal(name, payload_json));
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? receipt->disposition
                        : WakeReceipt::Disposition::kRefusedEnded;
  }

  void Advance(absl::Duration delta) { clock_.Advance(delta); }

  // Waits for the task to end.
  absl::StatusOr<TaskEnd> Join() { return std::move(*handle_).Wait(); }

  std::string output() const {
    absl::MutexLock lock(&mu_);
    return output_;
  }

  MachineTask& task() { return *task_; }
  JoinHandle<TaskEnd>& handle() { return *handle_; }
  ManualClock& clock() { return clock_; }

 private:
  // Destroyed in reverse: the executor joins its workers before the output
  // they write to, and before the clock its timers read, go away.
  ManualClock clock_;
  mutable absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Executor> executor_;
  std::shared_ptr<MachineTask> task_;
  std::optional<JoinHandle<TaskEnd>> handle_;
};

}  // namespace corosched::machine::testing
