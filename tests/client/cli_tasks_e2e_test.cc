// The `corosched` tool against a real daemon: running tasks, waking,
// watching, listing and cancelling them.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cli_e2e_fixture.h"

namespace corosched::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using CliTasksTest = CliE2eTest;

TEST_F(CliTasksTest, SubmitWaitPrintsTheHelloExamplesOutput) {
  CliResult result = Cli({"submit", "-f", Example("hello.json"), "--wait"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Hello, World!\n");
  EXPECT_THAT(result.err, AllOf(StartsWith("task "), HasSubstr(" completed")));
}

TEST_F(CliTasksTest, SubmitPrintsTheIdAndGetShowsTheTask) {
  const std::string id =
      Submit({"-f", Example("hello.json"), "--label", UniqueLabel()});
  ASSERT_FALSE(id.empty());
  WaitForStatus(id, v1::TASK_STATUS_COMPLETED);
  CliResult get = Cli({"get", id});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_THAT(get.out, AllOf(HasSubstr("id:          " + id + "\n"),
                             HasSubstr("definition:  hello\n"),
                             HasSubstr("status:      COMPLETED\n"),
                             HasSubstr("state:       END\n")));
}

TEST_F(CliTasksTest, ApprovalWokenWithApproveCompletes) {
  const std::string id = Submit({"-f", Example("approval.json"), "--var",
                                 "item=laptop", "--var", "manager=bo"});
  WaitForStatus(id, v1::TASK_STATUS_AWAITING);
  CliResult wake =
      Cli({"wake", id, "approve", "--payload", R"({"by": "ana"})"});
  EXPECT_EQ(wake.exit_code, 0) << wake.err;
  EXPECT_THAT(wake.out, StartsWith("consumed (signal #1"));

  CliResult watch = Cli({"watch", id});
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_EQ(watch.out,
            "approval requested for laptop\nlaptop approved by ana\n");
  EXPECT_THAT(watch.err, HasSubstr("completed: approved by ana"));
}

TEST_F(CliTasksTest, ApprovalWokenWithRejectFailsAndExitsOne) {
  const std::string id = Submit({"-f", Example("approval.json"), "--var",
                                 "item=desk", "--var", "manager=bo"});
  WaitForStatus(id, v1::TASK_STATUS_AWAITING);
  CliResult wake = Cli({"wake", id, "reject"});
  EXPECT_EQ(wake.exit_code, 0) << wake.err;

  CliResult watch = Cli({"watch", id});
  EXPECT_EQ(watch.exit_code, 1);
  EXPECT_THAT(watch.out, HasSubstr("desk rejected by someone\n"));
  EXPECT_THAT(watch.err, HasSubstr("failed: rejected by someone"));
  EXPECT_EQ(GetTask(id).status(), v1::TASK_STATUS_FAILED);
}

TEST_F(CliTasksTest, SubmitWaitExitsOneWhenTheTaskFails) {
  const std::string failing = WriteFile("failing.json", R"({
    "name": "failing", "initial": "A",
    "states": {"A": {"emit": "trying\n", "fail": {"error": "no luck"}}}})");
  CliResult result = Cli({"submit", "-f", failing, "--wait"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "trying\n");
  EXPECT_THAT(result.err, HasSubstr("failed: no luck"));
}

TEST_F(CliTasksTest, AWakeBeforeTheAwaitIsBufferedAndThenConsumed) {
  // The task awaits `first` before it awaits `go`, so `go` arrives before
  // its await, whatever the timing.
  const std::string two_step = WriteFile("two-step.json", R"({
    "name": "two-step", "initial": "FIRST", "states": {
      "FIRST": {"await": {"signals": {"first": "SECOND"}}},
      "SECOND": {"await": {"signals": {"go": "DONE"}}},
      "DONE": {"emit": "went with ${signal.speed}\n", "complete": {}}}})");
  const std::string id = Submit({"-f", two_step});
  CliResult early = Cli({"wake", id, "go", "--payload", R"({"speed": "fast"})",
                         "--request-id", "go-1"});
  EXPECT_EQ(early.exit_code, 0) << early.err;
  EXPECT_EQ(early.out, "buffered (signal #1)\n");
  CliResult again = Cli({"wake", id, "go", "--request-id", "go-1"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out,
            "buffered (signal #1, duplicate request: not delivered again)\n");

  WaitForStatus(id, v1::TASK_STATUS_AWAITING);
  EXPECT_EQ(GetTask(id).mailbox_size(), 1u);
  CliResult first = Cli({"wake", id, "first"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "consumed (signal #2)\n");

  CliResult watch = Cli({"watch", id});
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_EQ(watch.out, "went with fast\n");
}

TEST_F(CliTasksTest, WatchFollowsATaskLiveUntilItEnds) {
  const std::string id = Submit({"-f", Example("approval.json"), "--var",
                                 "item=chair", "--var", "manager=bo"});
  std::unique_ptr<CliProcess> watch = StartCli({"watch", id});
  ASSERT_NE(watch, nullptr);
  WaitForStatus(id, v1::TASK_STATUS_AWAITING);
  CliResult wake = Cli({"wake", id, "approve"});
  EXPECT_EQ(wake.exit_code, 0) << wake.err;
  CliResult watched = watch->Wait(absl::Seconds(30));
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_EQ(watched.out,
            "approval requested for chair\nchair approved by someone\n");
}

TEST_F(CliTasksTest, WatchResumesAfterASequenceNumber) {
  const std::string id = Submit({"-f", Example("hello.json")});
  WaitForStatus(id, v1::TASK_STATUS_COMPLETED);
  CliResult all = Cli({"watch", id, "--output", "json"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  std::vector<v1::TaskEvent> events = ParseJsonLines<v1::TaskEvent>(all.out);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().has_finished());
  uint64_t hello_sequence = 0;
  for (const v1::TaskEvent& event : events) {
    if (event.output().text() == "Hello, ") hello_sequence = event.sequence();
  }
  ASSERT_NE(hello_sequence, 0u) << all.out;

  CliResult rest =
      Cli({"watch", id, "--after", std::to_string(hello_sequence)});
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(rest.out, "World!\n");
}

TEST_F(CliTasksTest, ListFiltersByLabelStateAndDefinitionInPages) {
  const std::string label = UniqueLabel();
  std::vector<std::string> ids;
  ids.reserve(3);
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Submit({"-f", Example("hello.json"), "--label", label}));
  }
  const std::string waiting = Submit(
      {"-f", Example("approval.json"), "--var", "item=x", "--label", label});
  for (const std::string& id : ids) {
    WaitForStatus(id, v1::TASK_STATUS_COMPLETED);
  }
  WaitForStatus(waiting, v1::TASK_STATUS_AWAITING);

  CliResult all = Cli({"list", "--label", label, "--output", "json"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  std::vector<v1::Task> tasks = ParseJsonLines<v1::Task>(all.out);
  ASSERT_EQ(tasks.size(), 4u) << all.out;
  EXPECT_EQ(tasks[0].id(), waiting);  // newest first

  CliResult completed = Cli({"list", "--label", label, "--state", "completed"});
  EXPECT_EQ(Lines(completed.out).size(), 3u) << completed.out;
  for (const std::string& line : Lines(completed.out)) {
    EXPECT_THAT(line, HasSubstr(" status=COMPLETED state=END "));
  }
  CliResult approvals =
      Cli({"list", "--label", label, "--definition", "approval"});
  EXPECT_THAT(Lines(approvals.out), ElementsAre(StartsWith(waiting + " ")));

  CliResult first = Cli({"list", "--label", label, "--page-size", "3"});
  EXPECT_EQ(Lines(first.out).size(), 3u);
  ASSERT_THAT(first.err, StartsWith("next page: --page-token "));
  const std::string token = Lines(first.err)[0].substr(
      std::string("next page: --page-token ").size());
  CliResult second = Cli(
      {"list", "--label", label, "--page-size", "3", "--page-token", token});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(Lines(second.out).size(), 1u) << second.out;
  EXPECT_THAT(second.err, IsEmpty());
  Cli({"cancel", waiting});
}

TEST_F(CliTasksTest, CancelEndsAnAwaitingTask) {
  const std::string id =
      Submit({"-f", Example("approval.json"), "--var", "item=lamp"});
  WaitForStatus(id, v1::TASK_STATUS_AWAITING);
  CliResult cancel = Cli({"cancel", id, "--reason", "no longer needed"});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_THAT(cancel.out, AllOf(StartsWith(id + " status=CANCELLED"),
                                HasSubstr("no longer needed")));
  CliResult watch = Cli({"watch", id});
  EXPECT_EQ(watch.exit_code, 1);
  EXPECT_THAT(watch.err, HasSubstr("cancelled"));

  CliResult wake = Cli({"wake", id, "approve"});
  EXPECT_EQ(wake.exit_code, 1);
  EXPECT_THAT(wake.err, HasSubstr("FAILED_PRECONDITION"));
}

TEST_F(CliTasksTest, SubmitWithAnIdIsIdempotent) {
  const std::string task_id = UniqueLabel().substr(4);
  const std::vector<std::string> request = {"-f", Example("hello.json"), "--id",
                                            task_id};
  EXPECT_EQ(Submit(request), task_id);
  CliResult again =
      Cli({"submit", "-f", Example("hello.json"), "--id", task_id});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, task_id + "\n");
  EXPECT_THAT(again.err, HasSubstr("already existed"));

  CliResult different = Cli(
      {"submit", "-f", Example("hello.json"), "--id", task_id, "--var", "x=1"});
  EXPECT_EQ(different.exit_code, 1);
  EXPECT_THAT(different.err, HasSubstr("ALREADY_EXISTS"));
}

TEST_F(CliTasksTest, VarsBecomeTypedInputs) {
  const std::string id =
      Submit({"-f", Example("countdown.json"), "--var", "n=1", "--var",
              "zip=01234", "--var", R"(code="42")", "--var", "ok=true"});
  CliResult watch = Cli({"watch", id});
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_EQ(watch.out, "1...\nliftoff!\n");
  v1::Task task = GetTask(id);
  EXPECT_EQ(task.variables().at("zip").string(), "01234");
  EXPECT_EQ(task.variables().at("code").string(), "42");
  EXPECT_TRUE(task.variables().at("ok").bool_());
}

TEST_F(CliTasksTest, VarJsonPassesStructuredInputsThatGetShowsAsJson) {
  const std::string id = Submit({"-f", Example("hello.json"), "--var-json",
                                 R"(order={"sku": "A1", "qty": [1, 2]})",
                                 "--var-json", "none=null"});
  CliResult got = Cli({"get", id});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_THAT(got.out,
              HasSubstr(R"(none=null order={"qty":[1,2],"sku":"A1"})"));
}

TEST_F(CliTasksTest, AMissingRequiredInputIsRefusedByName) {
  CliResult refused = Cli({"submit", "-f", Example("approval.json")});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err,
              AllOf(HasSubstr("INVALID_ARGUMENT"),
                    HasSubstr("input \"item\" is required by approval@1")));
}

TEST_F(CliTasksTest, RegisteredDefinitionsAreSubmittedByName) {
  CliResult registered =
      Cli({"definitions", "register", "-f", Example("approval.json")});
  EXPECT_EQ(registered.exit_code, 0) << registered.err;
  EXPECT_THAT(registered.out, HasSubstr("approval@1"));
  CliResult again =
      Cli({"definitions", "register", "-f", Example("approval.json")});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("already registered"));

  CliResult got = Cli({"definitions", "get", "approval", "1"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_THAT(got.out, HasSubstr("\"initial\": \"REQUEST\""));
  CliResult listed = Cli({"definitions", "list", "approval"});
  EXPECT_THAT(listed.out, HasSubstr("approval@1  registered "));

  const std::string id = Submit({"--definition", "approval", "--var",
                                 "item=pen", "--label", UniqueLabel()});
  WaitForStatus(id, v1::TASK_STATUS_AWAITING);
  EXPECT_EQ(GetTask(id).definition_name(), "approval");
  Cli({"cancel", id});
}

}  // namespace
}  // namespace corosched::testing
