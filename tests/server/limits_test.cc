// Per-task limits end to end: a runaway task ends FAILED naming the limit
// while the daemon stays small and serves others; a task's log keeps its
// last --task-max-events; recovery fails a task it cannot resume instead of
// refusing to start. docs/operations.md, "Limits", lists each limit.

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/data_dir_fixture.h"
#include "tests/server/e2e_support.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMiB = uint64_t{1} << 20;

// The daemon under test is built like this test: with a sanitizer or not.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// The tester's runaway: LOOP emits 4,000 bytes and yields to CHECK, which
// goes back to LOOP until variable `stop` is set (never): valid, as END is
// reachable, and endless.
v1::TaskDefinition Runaway(const std::string& chunk = std::string(4000, 'x')) {
  v1::TaskDefinition definition;
  definition.set_name("runaway");
  definition.set_initial("LOOP");
  auto& states = *definition.mutable_states();
  states["LOOP"].set_emit(chunk);
  states["LOOP"].mutable_yield()->set_next("CHECK");
  v1::Choice& choice = *states["CHECK"].mutable_choice();
  v1::Branch& stop = *choice.add_when();
  stop.set_variable("stop");
  stop.set_is_set(true);
  stop.set_next("END");
  choice.set_otherwise("LOOP");
  states["END"].mutable_complete();
  return definition;
}

// An endless loop with no output whose every poll is a transition: A
// yields to B, B yields to CHECK, CHECK goes back to A.
v1::TaskDefinition SilentLoop() {
  v1::TaskDefinition definition = Runaway();
  definition.set_name("silent-loop");
  definition.set_initial("A");
  auto& states = *definition.mutable_states();
  states.erase("LOOP");
  states["A"].mutable_yield()->set_next("B");
  states["B"].mutable_yield()->set_next("CHECK");
  states["CHECK"].mutable_choice()->set_otherwise("A");
  return definition;
}

// The daemon's peak resident memory (VmHWM), in bytes; 0 if unreadable.
uint64_t PeakRssBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmHWM:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    uint64_t kib = 0;
    if (absl::ConsumeSuffix(&rest, " kB") && absl::SimpleAtoi(rest, &kib)) {
      return kib * 1024;
    }
  }
  return 0;
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

class LimitsTest : public DataDirDaemonTest {
 protected:
  // Submits examples/hello.json and watches it to its end.
  void ExpectHelloCompletes() {
    const v1::Task hello = Submit(*stub_, LoadExample("hello.json"));
    WatchResult watched = Watch(*stub_, hello.id(), 0, absl::Seconds(20));
    EXPECT_TRUE(watched.status.ok()) << watched.status.error_message();
    EXPECT_EQ(OutputText(watched.events), "Hello, World!\n");
    EXPECT_EQ(GetTask(*stub_, hello.id()).status(), v1::TASK_STATUS_COMPLETED);
  }

  // Neither the daemon's peak memory nor its data directory passed the
  // bounds of docs/operations.md's runaway-task guarantee.
  void ExpectSmall() {
    const uint64_t rss = PeakRssBytes(server_->pid());
    EXPECT_GT(rss, 0u);
    // A sanitizer's shadow memory and quarantine say nothing of ours.
    if (!kSanitized) EXPECT_LT(rss, 512 * kMiB) << "peak RSS";
    EXPECT_LT(DirectoryBytes(data_dir_), 256 * kMiB) << "data directory";
  }

  grpc::Status Cancel(const std::string& id, v1::Task* task) {
    v1::CancelTaskRequest request;
    request.set_task_id(id);
    return stub_->CancelTask(Deadline(absl::Seconds(5)).get(), request, task);
  }
};

TEST_F(LimitsTest, ARunawayTaskFailsNamingTheLimitWhileAHelloCompletes) {
  Open();
  const v1::Task runaway = Submit(*stub_, Runaway());
  ExpectHelloCompletes();
  const v1::Task ended = AwaitEnd(runaway.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_FAILED) << ended.DebugString();
  EXPECT_THAT(ended.error(),
              HasSubstr("output would pass its limit of 8388608 bytes in all "
                        "(--task-max-output-bytes)"));
  ExpectSmall();
}

TEST_F(LimitsTest, ATaskLogKeepsItsLastEventsAndAWatchOfDroppedOnesIsRefused) {
  Open({"--task-max-events", "100"});
  const v1::Task loop = Submit(*stub_, SilentLoop());
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, loop.id()).last_event_sequence() > 3000;
  })) << "the loop stalled";
  ExpectHelloCompletes();
  // A busy task's records coalesce: its cancel is not stuck behind them.
  v1::Task cancelled;
  grpc::Status cancel = Cancel(loop.id(), &cancelled);
  ASSERT_TRUE(cancel.ok()) << cancel.error_message();
  EXPECT_EQ(cancelled.status(), v1::TASK_STATUS_CANCELLED);

  const uint64_t last = cancelled.last_event_sequence();
  WatchResult from_start = Watch(*stub_, loop.id(), 0);
  EXPECT_EQ(from_start.status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(from_start.status.error_message(),
              HasSubstr("were dropped: the daemon keeps the last "
                        "--task-max-events"));
  EXPECT_TRUE(from_start.events.empty());
  EXPECT_EQ(Watch(*stub_, loop.id(), last - 1000).status.error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  WatchResult kept = Watch(*stub_, loop.id(), last - 100);
  EXPECT_TRUE(kept.status.ok()) << kept.status.error_message();
  ASSERT_EQ(kept.events.size(), 100u);
  EXPECT_EQ(kept.events.front().sequence(), last - 99);
  EXPECT_TRUE(kept.events.back().has_finished());
  ExpectSmall();
}

TEST_F(LimitsTest, TheInMemoryStoreKeepsTheLastEventsToo) {
  Open({"--task-max-events", "100", "--durability=none"});
  const v1::Task loop = Submit(*stub_, SilentLoop());
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, loop.id()).last_event_sequence() > 3000;
  })) << "the loop stalled";
  v1::Task cancelled;
  ASSERT_TRUE(Cancel(loop.id(), &cancelled).ok());
  const uint64_t last = cancelled.last_event_sequence();
  EXPECT_EQ(Watch(*stub_, loop.id(), 0).status.error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  WatchResult kept = Watch(*stub_, loop.id(), last - 100);
  EXPECT_TRUE(kept.status.ok()) << kept.status.error_message();
  EXPECT_EQ(kept.events.size(), 100u);
}

TEST_F(LimitsTest, VariablesPastTheirLimitAreRefusedOrFailTheTask) {
  Open({"--task-max-variables-bytes", "1KiB"});
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = AwaitGo();
  (*request.mutable_inputs())["big"] = Text(std::string(2000, 'b'));
  v1::SubmitTaskResponse response;
  grpc::Status refused =
      stub_->SubmitTask(Deadline().get(), request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("--task-max-variables-bytes"));

  const v1::Task task = Submit(*stub_, AwaitGo());
  v1::WakeTaskRequest wake;
  wake.set_task_id(task.id());
  wake.set_signal("go");
  (*wake.mutable_payload()->mutable_fields())["blob"].set_string_value(
      std::string(2000, 'p'));
  v1::WakeTaskResponse receipt;
  ASSERT_TRUE(stub_->WakeTask(Deadline().get(), wake, &receipt).ok());
  const v1::Task ended = AwaitEnd(task.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_FAILED);
  EXPECT_THAT(ended.error(), HasSubstr("--task-max-variables-bytes"));
}

TEST_F(LimitsTest, ARestartWithARunawayTaskInTheStoreComesUpAndFailsIt) {
  Open({"--task-max-output-bytes", "1GiB"});
  const v1::Task runaway = Submit(*stub_, Runaway());
  // 3,000 chunks of 4,000 bytes: past the default limit of 8 MiB.
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, runaway.id()).last_event_sequence() > 3000;
  })) << "the runaway stalled";
  ExpectSmall();
  Crash();
  Open();
  const v1::Task ended = AwaitEnd(runaway.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_FAILED) << ended.DebugString();
  EXPECT_THAT(ended.error(), HasSubstr("(--task-max-output-bytes)"));
  ExpectHelloCompletes();
  ExpectSmall();
}

TEST_F(LimitsTest, ATaskThatCannotResumeIsFailedAndTheDaemonComesUp) {
  Open();
  std::map<std::string, std::string> inputs = {{"big", std::string(2000, 'b')}};
  const v1::Task big = Submit(*stub_, AwaitGo(), inputs);
  const v1::Task small = Submit(*stub_, AwaitGo());
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, big.id()).status() == v1::TASK_STATUS_AWAITING;
  }));
  Crash();
  // Its variables no longer fit: it cannot resume, the other task can.
  Open({"--task-max-variables-bytes", "1KiB"});
  const v1::Task failed = GetTask(*stub_, big.id());
  EXPECT_EQ(failed.status(), v1::TASK_STATUS_FAILED) << failed.DebugString();
  EXPECT_THAT(failed.error(),
              HasSubstr("the daemon could not resume this task after a "
                        "restart"));
  EXPECT_THAT(failed.error(), HasSubstr("--task-max-variables-bytes"));
  EXPECT_THAT(server_->Stderr(), HasSubstr("event=task_not_resumed"));
  WatchResult watched = Watch(*stub_, big.id());
  EXPECT_TRUE(watched.status.ok()) << watched.status.error_message();
  ASSERT_FALSE(watched.events.empty());
  EXPECT_EQ(watched.events.back().finished().status(), v1::TASK_STATUS_FAILED);
  v1::WakeTaskResponse receipt;
  ASSERT_TRUE(Wake(small.id(), "", &receipt).ok());
  EXPECT_EQ(AwaitEnd(small.id()).status(), v1::TASK_STATUS_COMPLETED);
}

}  // namespace
}  // namespace corosched::e2e
