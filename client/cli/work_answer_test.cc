#include "client/cli/work_answer.h"

#include <signal.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr size_t kLimit = 1 << 20;

ChildOutcome Exited(int code, std::string out = "", std::string err = "") {
  return ChildOutcome{.exited = true,
                      .exit_code = code,
                      .stdout_data = std::move(out),
                      .last_stderr_line = std::move(err)};
}

ChildOutcome Signaled(int signal, std::string err = "") {
  return ChildOutcome{.term_signal = signal,
                      .last_stderr_line = std::move(err)};
}

WorkAnswer Answer(const ChildOutcome& outcome,
                  StopReason stop = StopReason::kNone) {
  return AnswerFor(outcome, stop, kLimit, "job.sh");
}

TEST(WorkAnswerTest, StdoutJsonIsTheResult) {
  WorkAnswer answer = Answer(Exited(0, "{\"output\": \"ok\", \"n\": [1]}\n"));
  ASSERT_TRUE(answer.completed);
  EXPECT_EQ(answer.result.struct_value().fields().at("output").string_value(),
            "ok");
  EXPECT_EQ(answer.result.struct_value()
                .fields()
                .at("n")
                .list_value()
                .values(0)
                .number_value(),
            1);
}

TEST(WorkAnswerTest, AnyJsonValueIsAResult) {
  EXPECT_EQ(Answer(Exited(0, "42")).result.number_value(), 42);
  EXPECT_EQ(Answer(Exited(0, "\"text\"\n")).result.string_value(), "text");
  EXPECT_TRUE(Answer(Exited(0, "true")).result.bool_value());
}

TEST(WorkAnswerTest, EmptyStdoutIsNull) {
  for (const char* out : {"", " \n\t"}) {
    WorkAnswer answer = Answer(Exited(0, out));
    ASSERT_TRUE(answer.completed) << out;
    EXPECT_TRUE(answer.result.has_null_value()) << out;
  }
}

TEST(WorkAnswerTest, StdoutThatIsNotJsonIsAnInvalidResult) {
  WorkAnswer answer = Answer(Exited(0, "done: 3 files\n"));
  EXPECT_FALSE(answer.completed);
  EXPECT_EQ(answer.error, "invalid_result");
  EXPECT_FALSE(answer.retryable);
  EXPECT_THAT(answer.message, HasSubstr("job.sh exited 0 but its stdout is "
                                        "not one JSON value (line 1, column"));
  EXPECT_THAT(answer.message, HasSubstr("it began \"done: 3 files\""));
  // Two values, and a long text quoted only in part.
  EXPECT_EQ(Answer(Exited(0, "{} {}")).error, "invalid_result");
  WorkAnswer long_text = Answer(Exited(0, std::string(5000, 'x')));
  EXPECT_LT(long_text.message.size(), 400);
  EXPECT_THAT(long_text.message, HasSubstr("...\""));
}

TEST(WorkAnswerTest, StdoutOverTheLimitIsTooLarge) {
  ChildOutcome outcome = Exited(0, "[1,");
  outcome.stdout_overflowed = true;
  WorkAnswer answer = Answer(outcome);
  EXPECT_EQ(answer.error, "result_too_large");
  EXPECT_FALSE(answer.retryable);
  EXPECT_THAT(answer.message, HasSubstr("more than 1048576 bytes"));
}

TEST(WorkAnswerTest, ANonZeroExitFailsWithTheLastStderrLine) {
  WorkAnswer answer = Answer(Exited(3, "{}", "boom"));
  EXPECT_FALSE(answer.completed);
  EXPECT_EQ(answer.error, "exit_3");
  EXPECT_EQ(answer.message, "boom");
  EXPECT_TRUE(answer.retryable);
  EXPECT_EQ(Answer(Exited(1)).message,
            "job.sh exited with 1 and wrote nothing to stderr");
}

TEST(WorkAnswerTest, ASignalFailsNamedByItsNumber) {
  WorkAnswer answer = Answer(Signaled(SIGSEGV));
  EXPECT_EQ(answer.error, "signal_11");
  EXPECT_EQ(answer.message, "job.sh was killed by SIGSEGV");
  EXPECT_TRUE(answer.retryable);
  EXPECT_EQ(Answer(Signaled(SIGKILL, "out of memory")).message,
            "out of memory");
}

TEST(WorkAnswerTest, AStoppedCommandFailsForWhyItWasStopped) {
  WorkAnswer cancelled = Answer(Signaled(SIGTERM), StopReason::kCancelled);
  EXPECT_EQ(cancelled.error, "cancelled");
  EXPECT_FALSE(cancelled.retryable);
  WorkAnswer stopping = Answer(Exited(143), StopReason::kWorkerStopping);
  EXPECT_EQ(stopping.error, "worker_stopped");
  EXPECT_TRUE(stopping.retryable);
  // It finished before the stop took: its result stands.
  EXPECT_TRUE(Answer(Exited(0, "1"), StopReason::kCancelled).completed);
}

TEST(WorkAnswerTest, AProgramThatCannotStartFailsRetryably) {
  WorkAnswer answer =
      StartFailure(absl::NotFoundError("job.sh: not found in $PATH"));
  EXPECT_EQ(answer.error, "start_failed");
  EXPECT_TRUE(answer.retryable);
  EXPECT_THAT(answer.message, HasSubstr("job.sh: not found in $PATH"));
}

TEST(WorkAnswerTest, LogLinesSayTheOutcome) {
  EXPECT_EQ(
      WorkLogLine("t1", 2, Answer(Exited(0, "{}")), absl::Milliseconds(1250)),
      "task t1 attempt 2: completed in 1.25s");
  EXPECT_THAT(
      WorkLogLine("t1", 1, Answer(Exited(3, "", "boom")),
                  absl::Microseconds(310500)),
      StartsWith(
          "task t1 attempt 1: failed exit_3 (retryable) in 310ms: boom"));
}

}  // namespace
}  // namespace corosched::cli
