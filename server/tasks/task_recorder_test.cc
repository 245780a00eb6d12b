#include "server/tasks/task_recorder.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/store/memory_store.h"
#include "server/tasks/task_runner.h"

namespace corosched::server {
namespace {

// Counts the recorded writes of the task it follows: the recorder publishes
// once per write.
class WriteCounter final : public OpenStream {
 public:
  void OnTaskEvents() override { writes.fetch_add(1); }
  void OnShutdown() override {}
  std::atomic<int> writes{0};
};

// `count` states S0..S{count-1}, each emitting "s<i>;" and yielding to the
// next; the last one completes.
std::shared_ptr<const machine::Program> YieldChain(int count) {
  v1::TaskDefinition definition;
  definition.set_name("yield-chain");
  definition.set_initial("S0");
  auto& states = *definition.mutable_states();
  for (int i = 0; i < count; ++i) {
    v1::State& state = states[absl::StrCat("S", i)];
    state.set_emit(absl::StrCat("s", i, ";"));
    state.mutable_yield()->set_next(i + 1 < count ? absl::StrCat("S", i + 1)
                                                  : "END");
  }
  states["END"].mutable_complete()->set_result("done");
  return *machine::Program::Compile(definition);
}

// LOOP emits "x" and yields to CHECK, which goes back to LOOP until a
// variable `stop` is set (never, here): it runs until cancelled.
std::shared_ptr<const machine::Program> YieldLoop() {
  v1::TaskDefinition definition;
  definition.set_name("yield-loop");
  definition.set_initial("LOOP");
  auto& states = *definition.mutable_states();
  states["LOOP"].set_emit("x");
  states["LOOP"].mutable_yield()->set_next("CHECK");
  v1::Branch* stop = states["CHECK"].mutable_choice()->add_when();
  stop->set_variable("stop");
  stop->set_is_set(true);
  stop->set_next("END");
  states["CHECK"].mutable_choice()->set_otherwise("LOOP");
  states["END"].mutable_complete();
  return *machine::Program::Compile(definition);
}

class TaskRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    executor_ = *Executor::Create({.workers = 2});
    runner_ = std::make_unique<TaskRunner>(*executor_, store_, hub_);
  }
  void TearDown() override {
    runner_->BeginShutdown();
    executor_->Shutdown(ShutdownMode::kCancel);
    runner_.reset();
    executor_.reset();
  }

  // Starts `program` as task `id`, its writes counted by `counter`.
  void Start(const std::string& id,
             const std::shared_ptr<const machine::Program>& program,
             const std::shared_ptr<WriteCounter>& counter) {
    ASSERT_TRUE(hub_.Add(id, counter).has_value());
    TaskRecord record;
    record.id = id;
    record.definition = program->definition();
    record.created_at = absl::Now();
    absl::Notification answered;
    runner_->Start(std::move(record), program, machine::Machine::Start(program),
                   [&](const absl::StatusOr<StartedTask>& started) {
                     EXPECT_TRUE(started.ok()) << started.status();
                     answered.Notify();
                   });
    ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  }

  // Waits until the task's `finished` event is recorded and its write
  // published; its events.
  std::vector<v1::TaskEvent> EventsOnceEnded(const std::string& id) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      absl::StatusOr<EventBatch> batch = store_.ReadEvents(id, 0, 10000);
      // The end is stored before its write's callback publishes it and
      // then forgets the task: once forgotten, every write was counted.
      if (batch.ok() && batch->task_ended && runner_->live_count() == 0) {
        return batch->events;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    ADD_FAILURE() << "task " << id << " did not end";
    return {};
  }

  // "T:<state>" for a transition ("T:<state>/<status>" out of READY), the
  // text for output, "F:<status>" for the end.
  static std::vector<std::string> Describe(
      const std::vector<v1::TaskEvent>& events) {
    std::vector<std::string> described;
    for (const v1::TaskEvent& event : events) {
      if (event.has_transition()) {
        const v1::TaskStatus status = event.transition().status();
        described.push_back(
            absl::StrCat("T:", event.transition().state(),
                         status == v1::TASK_STATUS_READY
                             ? ""
                             : absl::StrCat("/", v1::TaskStatus_Name(status))));
      } else if (event.has_output()) {
        described.push_back(event.output().text());
      } else if (event.has_finished()) {
        described.push_back(
            absl::StrCat("F:", v1::TaskStatus_Name(event.finished().status())));
      }
    }
    return described;
  }

  MemoryStore store_;
  StreamHub hub_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskRunner> runner_;
};

TEST_F(TaskRecorderTest, ARunOfYieldsIsOneWriteWithEveryEventInOrder) {
  auto counter = std::make_shared<WriteCounter>();
  Start("hello", YieldChain(2), counter);
  std::vector<v1::TaskEvent> events = EventsOnceEnded("hello");
  EXPECT_EQ(Describe(events),
            (std::vector<std::string>{"T:S0", "s0;", "T:S1", "s1;", "T:END",
                                      "T:END/TASK_STATUS_COMPLETED",
                                      "F:TASK_STATUS_COMPLETED"}));
  // Two yields and the end: one write, not three.
  EXPECT_EQ(counter->writes.load(), 1);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), i + 1);
    EXPECT_TRUE(events[i].has_time()) << i;
    if (i > 0) {
      EXPECT_GE(
          events[i].time().seconds() * 1000000000 + events[i].time().nanos(),
          events[i - 1].time().seconds() * 1000000000 +
              events[i - 1].time().nanos());
    }
  }
}

TEST_F(TaskRecorderTest, ALongRunOfYieldsIsWrittenEveryMaxDeferredPolls) {
  constexpr int kStates = 40;
  auto counter = std::make_shared<WriteCounter>();
  Start("chain", YieldChain(kStates), counter);
  std::vector<std::string> described = Describe(EventsOnceEnded("chain"));
  std::vector<std::string> expected;
  for (int i = 0; i < kStates; ++i) {
    expected.push_back(absl::StrCat("T:S", i));
    expected.push_back(absl::StrCat("s", i, ";"));
  }
  expected.push_back("T:END");
  expected.push_back("T:END/TASK_STATUS_COMPLETED");
  expected.push_back("F:TASK_STATUS_COMPLETED");
  EXPECT_EQ(described, expected);
  // 41 polls: each write takes at most kMaxDeferredPolls deferred polls and
  // the one that is written.
  constexpr int kPollsPerWrite = TaskRecorder::kMaxDeferredPolls + 1;
  EXPECT_EQ(counter->writes.load(),
            (kStates + 1 + kPollsPerWrite - 1) / kPollsPerWrite);
}

TEST_F(TaskRecorderTest, ACancelRecordsTheOutputOfDeferredPollsFirst) {
  auto counter = std::make_shared<WriteCounter>();
  Start("loop", YieldLoop(), counter);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (counter->writes.load() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Microseconds(100));
  }
  absl::Notification cancelled;
  uint64_t output_sequence = 0;
  runner_->Cancel("loop", "stop", [&](absl::StatusOr<TaskRecord> record) {
    ASSERT_TRUE(record.ok()) << record.status();
    output_sequence = record->snapshot.output_sequence();
    cancelled.Notify();
  });
  ASSERT_TRUE(cancelled.WaitForNotificationWithTimeout(absl::Seconds(20)));
  std::vector<v1::TaskEvent> events = EventsOnceEnded("loop");
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back().finished().status(), v1::TASK_STATUS_CANCELLED);
  // Every output the machine emitted is in the log, the last one just
  // before the end, however many polls were deferred when the cancel came.
  uint64_t outputs = 0;
  for (const v1::TaskEvent& event : events) {
    if (!event.has_output()) continue;
    EXPECT_EQ(event.output().sequence(), ++outputs);
  }
  EXPECT_GT(outputs, 0u);
  EXPECT_EQ(outputs, output_sequence);
}

}  // namespace
}  // namespace corosched::server
