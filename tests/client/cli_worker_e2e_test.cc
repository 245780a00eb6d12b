// `corosched worker` against a real daemon: shell scripts as workers for
// examples/worker-callback.json tasks (queue `jobs`), their results,
// failures, cancels and the worker's stop on SIGTERM.

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cli_e2e_fixture.h"

namespace corosched::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Polls `done` every 20 ms for up to 20 s; false (with a test failure
// naming `what`) when it never held.
bool Eventually(const std::function<bool()>& done, const std::string& what) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ADD_FAILURE() << "timed out waiting for " << what;
  return false;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A running `corosched worker` whose stderr (its log and its commands'
// stderr) goes to a file the test can read while it runs.
class WorkerProcess {
 public:
  static std::unique_ptr<WorkerProcess> Start(
      const std::string& address, const std::vector<std::string>& args,
      const std::string& log_path) {
    // `sh -c 'exec "$@" 2>>LOG'` becomes the worker itself, so signals sent
    // to the process reach the worker.
    std::vector<std::string> argv = {"-c",     R"(exec "$@" 2>>"$WORKER_LOG")",
                                     "sh",     COROSCHED_CLI_PATH,
                                     "--addr", address,
                                     "worker"};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<std::unique_ptr<CliProcess>> process = CliProcess::Start(
        "/bin/sh", argv, {absl::StrCat("WORKER_LOG=", log_path)});
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return nullptr;
    return std::unique_ptr<WorkerProcess>(
        new WorkerProcess(*std::move(process), log_path));
  }

  std::string Log() const { return ReadFile(log_path_); }

  bool WaitForLog(const std::string& text) {
    return Eventually(
        [&] { return Log().find(text) != std::string::npos; },
        absl::StrCat("\"", text, "\" in the worker's log:\n", Log()));
  }

  void Signal(int signal) { process_->Signal(signal); }

  // Waits for the worker to exit; the result's err is its log.
  CliResult Finish() {
    CliResult result = process_->Wait(absl::Seconds(30));
    EXPECT_FALSE(result.timed_out) << "the worker did not exit:\n" << Log();
    result.err = Log();
    return result;
  }

 private:
  WorkerProcess(std::unique_ptr<CliProcess> process, std::string log_path)
      : process_(std::move(process)), log_path_(std::move(log_path)) {}

  std::unique_ptr<CliProcess> process_;
  std::string log_path_;
};

class CliWorkerTest : public CliE2eTest {
 protected:
  // A path in the test's temp directory, unique to the test; no file is
  // there (one left by an earlier run is removed).
  std::string TempPath(const std::string& name) const {
    const std::filesystem::path path =
        std::filesystem::path(::testing::TempDir()) /
        absl::StrCat(UniqueLabel().substr(4), ".", name);
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
    return path.string();
  }

  std::unique_ptr<WorkerProcess> StartWorker(
      const std::vector<std::string>& args) {
    return WorkerProcess::Start(address(), args, TempPath("worker.log"));
  }

  std::string SubmitJob(const std::string& job) {
    return Submit({"-f", Example("worker-callback.json"), "--var",
                   absl::StrCat("job=", job), "--label", UniqueLabel()});
  }

  // The pid a script wrote to `path` (waiting for it to be written).
  pid_t WaitForPid(const std::string& path) {
    pid_t pid = 0;
    Eventually(
        [&] {
          return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(path)),
                                  &pid) &&
                 pid > 0;
        },
        absl::StrCat("the script to write its pid to ", path));
    return pid;
  }

  static bool IsGone(pid_t pid) {
    return ::kill(pid, 0) != 0 && errno == ESRCH;
  }
};

// Reads the job from its input JSON, answers with the attempt.
constexpr char kBuildScript[] =
    R"sh(job=$(sed -n 's/.*"job":"\([^"]*\)".*/\1/p')
printf '{"output": "built %s attempt %s"}\n' "$job" "$COROSCHED_ATTEMPT")sh";

TEST_F(CliWorkerTest, CompletesEachTaskWithItsScriptsJson) {
  const std::vector<std::string> jobs = {"a1", "b2", "c3"};
  std::vector<std::string> ids;
  ids.reserve(jobs.size());
  for (const std::string& job : jobs) ids.push_back(SubmitJob(job));
  auto worker = StartWorker({"--queue", "jobs", "--concurrency", "2", "--",
                             "sh", "-c", kBuildScript});
  ASSERT_NE(worker, nullptr);
  for (size_t i = 0; i < ids.size(); ++i) {
    WaitForStatus(ids[i], v1::TASK_STATUS_COMPLETED);
    EXPECT_EQ(GetTask(ids[i]).result(),
              absl::StrCat("built ", jobs[i], " attempt 1"));
  }
  worker->Signal(SIGTERM);
  CliResult result = worker->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("taking items from queue jobs"));
  for (const std::string& id : ids) {
    EXPECT_THAT(result.err,
                HasSubstr(absl::StrCat("task ", id, " attempt 1: completed")));
  }
  EXPECT_THAT(result.err, HasSubstr("stopped: 3 completed, 0 failed"));
}

TEST_F(CliWorkerTest, RunsUpToConcurrencyItemsAtOnce) {
  // Each script waits until both have started: they finish only if the
  // worker runs them at the same time.
  const std::string started = TempPath("started");
  std::filesystem::create_directory(started);
  const std::string first = SubmitJob("t1");
  const std::string second = SubmitJob("t2");
  auto worker = StartWorker(
      {"--queue", "jobs", "--concurrency", "2", "--", "sh", "-c",
       absl::StrCat("cd '", started, R"sh(' && touch "$COROSCHED_TASK_ID"
while [ "$(ls | wc -l)" -lt 2 ]; do sleep 0.02; done
echo '{"output": "together"}')sh")});
  ASSERT_NE(worker, nullptr);
  for (const std::string& id : {first, second}) {
    WaitForStatus(id, v1::TASK_STATUS_COMPLETED);
    EXPECT_EQ(GetTask(id).result(), "together");
  }
  worker->Signal(SIGTERM);
  EXPECT_EQ(worker->Finish().exit_code, 0);
}

TEST_F(CliWorkerTest, LongPollsWithPollAndTakesItemsQueuedWhileItWaits) {
  auto worker = StartWorker(
      {"--queue", "jobs", "--poll", "--", "sh", "-c", kBuildScript});
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->WaitForLog("taking items from queue jobs"));
  const std::string id = SubmitJob("p1");
  WaitForStatus(id, v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(GetTask(id).result(), "built p1 attempt 1");
  worker->Signal(SIGINT);
  EXPECT_EQ(worker->Finish().exit_code, 0);
}

TEST_F(CliWorkerTest, AFailingScriptFailsTheAttemptWithItsLastStderrLine) {
  const std::string id = SubmitJob("f1");
  auto worker = StartWorker({"--queue", "jobs", "--", "sh", "-c",
                             "echo working >&2; echo boom >&2; exit 3"});
  ASSERT_NE(worker, nullptr);
  WaitForStatus(id, v1::TASK_STATUS_FAILED);
  EXPECT_THAT(GetTask(id).error(), HasSubstr("exit_3: boom"));
  worker->Signal(SIGTERM);
  CliResult result = worker->Finish();
  EXPECT_EQ(result.exit_code, 0);
  // The script's stderr is passed on, each line marked with its item.
  EXPECT_THAT(result.err,
              AllOf(HasSubstr(absl::StrCat("[", id, "#1] working\n")),
                    HasSubstr(absl::StrCat("[", id, "#1] boom\n")),
                    HasSubstr(absl::StrCat("task ", id,
                                           " attempt 1: failed exit_3 "
                                           "(retryable) in "))));
}

TEST_F(CliWorkerTest, OutputThatIsNotJsonFailsTheTask) {
  const std::string id = SubmitJob("j1");
  auto worker = StartWorker(
      {"--queue", "jobs", "--", "sh", "-c", "echo all done; exit 0"});
  ASSERT_NE(worker, nullptr);
  WaitForStatus(id, v1::TASK_STATUS_FAILED);
  EXPECT_THAT(GetTask(id).error(),
              AllOf(HasSubstr("invalid_result"), HasSubstr("not one JSON"),
                    HasSubstr("it began \"all done\"")));
  worker->Signal(SIGTERM);
  EXPECT_EQ(worker->Finish().exit_code, 0);
}

TEST_F(CliWorkerTest, CancellingTheTaskKillsItsScript) {
  const std::string pid_file = TempPath("pid");
  const std::string id = SubmitJob("c1");
  auto worker = StartWorker(
      {"--queue", "jobs", "--identity", "cancel-test", "--", "sh", "-c",
       absl::StrCat("echo $$ > '", pid_file, "'; exec sleep 1000")});
  ASSERT_NE(worker, nullptr);
  const pid_t script = WaitForPid(pid_file);
  ASSERT_GT(script, 0);
  EXPECT_EQ(GetTask(id).work().lease().worker_identity(), "cancel-test");
  CliResult cancel = Cli({"cancel", id, "--reason", "not needed"});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  // The next heartbeat (a third of the work's 10s) brings the cancel.
  Eventually([&] { return IsGone(script); }, "the script to be killed");
  EXPECT_EQ(GetTask(id).status(), v1::TASK_STATUS_CANCELLED);
  worker->Signal(SIGTERM);
  CliResult result = worker->Finish();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat("task ", id,
                                                 " attempt 1: failed "
                                                 "cancelled in ")));
}

TEST_F(CliWorkerTest, StreamsItemsQueuedWhileItWaits) {
  auto worker =
      StartWorker({"--queue", "jobs", "--", "sh", "-c", kBuildScript});
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->WaitForLog("taking items from queue jobs"));
  const std::string id = SubmitJob("w1");
  WaitForStatus(id, v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(GetTask(id).result(), "built w1 attempt 1");
  worker->Signal(SIGTERM);
  EXPECT_EQ(worker->Finish().exit_code, 0);
}

TEST_F(CliWorkerTest, SigtermFinishesTheHeldItemAndTakesNoMore) {
  const std::string pid_file = TempPath("pid");
  const std::string go_file = TempPath("go");
  const std::string held = SubmitJob("s1");
  auto worker = StartWorker(
      {"--queue", "jobs", "--", "sh", "-c",
       absl::StrCat(
           "echo $$ > '", pid_file, "'; while [ ! -e '", go_file,
           R"(' ]; do sleep 0.02; done; echo '{"output": "finished"}')")});
  ASSERT_NE(worker, nullptr);
  WaitForPid(pid_file);
  worker->Signal(SIGTERM);
  ASSERT_TRUE(worker->WaitForLog("stopping: taking no more items"));
  const std::string later = SubmitJob("s2");
  std::ofstream(go_file) << "go";
  CliResult result = worker->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(GetTask(held).status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(GetTask(held).result(), "finished");
  EXPECT_THAT(result.err, Not(HasSubstr(later)));
  const v1::Task waiting = GetTask(later);
  EXPECT_NE(waiting.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(waiting.work().lease().worker_identity(), "");
  // Leave the queue empty for the next test.
  EXPECT_EQ(Cli({"cancel", later}).exit_code, 0);
}

TEST_F(CliWorkerTest, ASecondSigtermKillsTheScript) {
  const std::string pid_file = TempPath("pid");
  const std::string id = SubmitJob("k1");
  auto worker = StartWorker(
      {"--queue", "jobs", "--kill-grace", "1s", "--", "sh", "-c",
       absl::StrCat("echo $$ > '", pid_file, "'; exec sleep 1000")});
  ASSERT_NE(worker, nullptr);
  const pid_t script = WaitForPid(pid_file);
  worker->Signal(SIGTERM);
  ASSERT_TRUE(worker->WaitForLog("stopping: taking no more items"));
  worker->Signal(SIGTERM);
  CliResult result = worker->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(IsGone(script));
  EXPECT_THAT(result.err,
              AllOf(HasSubstr("killing the running commands"),
                    HasSubstr(absl::StrCat("task ", id,
                                           " attempt 1: failed worker_stopped "
                                           "(retryable)"))));
  // worker-callback.json retries nothing: the attempt's failure ends it.
  WaitForStatus(id, v1::TASK_STATUS_FAILED);
  EXPECT_THAT(GetTask(id).error(), HasSubstr("worker_stopped"));
}

TEST_F(CliWorkerTest, KeepsTryingWithoutADaemonAndStopsOnSigterm) {
  // Port 1 on loopback: nothing listens there (it would take root).
  auto worker = WorkerProcess::Start(
      "127.0.0.1:1", {"--queue", "jobs", "--", "true"}, TempPath("worker.log"));
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->WaitForLog("work stream of queue jobs broke"));
  worker->Signal(SIGTERM);
  CliResult result = worker->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("stopped: 0 completed"));
}

TEST_F(CliWorkerTest, RefusesAProgramThatIsNotThere) {
  CliResult result =
      Cli({"worker", "--queue", "jobs", "--", "corosched-no-such-program"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err,
              HasSubstr("corosched-no-such-program: not found in $PATH"));
}

TEST_F(CliWorkerTest, RefusesABadQueueName) {
  CliResult result = Cli({"worker", "--queue", "no spaces", "--", "true"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("queue"));
}

}  // namespace
}  // namespace corosched::testing
