#include "client/cli/command_supervisor.h"

#include <signal.h>

#include <atomic>
#include <memory>

#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

std::unique_ptr<ChildProcess> StartSleeper() {
  auto child = ChildProcess::Start(
      ChildOptions{.argv = {"/bin/sh", "-c", "exec sleep 1000"},
                   .stderr_passthrough_fd = -1});
  EXPECT_TRUE(child.ok()) << child.status();
  return child.ok() ? *std::move(child) : nullptr;
}

// The supervisors here start no thread (check_every infinite): a cancel is
// noticed at CheckNow only, so no test waits on time.

TEST(CommandSupervisorTest, KillsACommandWhoseItemWasCancelled) {
  CommandSupervisor supervisor(absl::ZeroDuration(), absl::InfiniteDuration());
  std::unique_ptr<ChildProcess> child = StartSleeper();
  ASSERT_NE(child, nullptr);
  std::atomic<bool> cancelled = false;
  supervisor.Add(child.get(), [&] { return cancelled.load(); });
  supervisor.CheckNow();  // not cancelled: keeps running
  cancelled = true;
  supervisor.CheckNow();
  absl::StatusOr<ChildOutcome> outcome = child->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->term_signal, SIGKILL);  // a zero grace
  EXPECT_EQ(supervisor.Remove(child.get()), StopReason::kCancelled);
}

TEST(CommandSupervisorTest, LeavesOtherCommandsRunning) {
  CommandSupervisor supervisor(absl::ZeroDuration(), absl::InfiniteDuration());
  std::unique_ptr<ChildProcess> cancelled = StartSleeper();
  std::unique_ptr<ChildProcess> wanted = StartSleeper();
  ASSERT_NE(cancelled, nullptr);
  ASSERT_NE(wanted, nullptr);
  supervisor.Add(cancelled.get(), [] { return true; });
  supervisor.Add(wanted.get(), [] { return false; });
  supervisor.CheckNow();
  ASSERT_TRUE(cancelled->Wait().ok());
  EXPECT_EQ(supervisor.Remove(cancelled.get()), StopReason::kCancelled);
  // The wanted one was not signalled: killing it now is the first Kill.
  wanted->Kill(absl::ZeroDuration());
  ASSERT_TRUE(wanted->Wait().ok());
  EXPECT_EQ(supervisor.Remove(wanted.get()), StopReason::kNone);
}

TEST(CommandSupervisorTest, StopAllKillsRunningAndLaterCommands) {
  CommandSupervisor supervisor(absl::ZeroDuration(), absl::InfiniteDuration());
  std::unique_ptr<ChildProcess> running = StartSleeper();
  ASSERT_NE(running, nullptr);
  supervisor.Add(running.get(), [] { return false; });
  supervisor.StopAll();
  std::unique_ptr<ChildProcess> later = StartSleeper();
  ASSERT_NE(later, nullptr);
  supervisor.Add(later.get(), [] { return false; });
  for (ChildProcess* child : {running.get(), later.get()}) {
    absl::StatusOr<ChildOutcome> outcome = child->Wait();
    ASSERT_TRUE(outcome.ok());
    EXPECT_TRUE(outcome->killed);
    EXPECT_EQ(supervisor.Remove(child), StopReason::kWorkerStopping);
  }
}

TEST(CommandSupervisorTest, ACommandThatEndedByItselfWasNotStopped) {
  CommandSupervisor supervisor(absl::ZeroDuration(), absl::InfiniteDuration());
  auto child = ChildProcess::Start(ChildOptions{
      .argv = {"/bin/sh", "-c", "exit 0"}, .stderr_passthrough_fd = -1});
  ASSERT_TRUE(child.ok());
  supervisor.Add(child->get(), [] { return false; });
  ASSERT_TRUE((*child)->Wait().ok());
  EXPECT_EQ(supervisor.Remove(child->get()), StopReason::kNone);
  // Removing twice, or what was never added, is no stop either.
  EXPECT_EQ(supervisor.Remove(child->get()), StopReason::kNone);
}

TEST(CommandSupervisorTest, ItsThreadActsOnCancels) {
  CommandSupervisor supervisor(absl::ZeroDuration(), absl::Milliseconds(1));
  std::unique_ptr<ChildProcess> child = StartSleeper();
  ASSERT_NE(child, nullptr);
  supervisor.Add(child.get(), [] { return true; });
  // Returns once the supervisor's thread has killed the sleeper.
  ASSERT_TRUE(child->Wait().ok());
  EXPECT_EQ(supervisor.Remove(child.get()), StopReason::kCancelled);
}

}  // namespace
}  // namespace corosched::cli
