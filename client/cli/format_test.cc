#include "client/cli/format.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Task ApprovalTask() {
  v1::Task task;
  task.set_id("t1");
  task.set_definition_name("approval");
  task.set_definition_version("1");
  task.set_status(v1::TASK_STATUS_FAILED);
  task.set_state("DENIED");
  (*task.mutable_labels())["team"] = "ops";
  (*task.mutable_labels())["env"] = "dev";
  (*task.mutable_variables())["item"].set_string("laptop");
  (*task.mutable_variables())["n"].set_number(2);
  task.set_error("rejected by ana");
  task.mutable_created_at()->set_seconds(1714557600);
  return task;
}

TEST(TaskLineTest, ShowsATaskOnOneLine) {
  EXPECT_EQ(TaskLine(ApprovalTask()),
            "t1 status=FAILED state=DENIED definition=approval@1 "
            "labels=env=dev,team=ops error=\"rejected by ana\"");
}

TEST(TaskLineTest, KeepsMultiLineTextOnOneLine) {
  v1::Task task;
  task.set_id("t");
  task.set_result("a\nb");
  EXPECT_THAT(TaskLine(task), HasSubstr("result=\"a\\nb\""));
  EXPECT_THAT(TaskLine(task), Not(HasSubstr("\n")));
}

TEST(TaskDetailsTest, ShowsEveryFieldThatIsSet) {
  const std::string details = TaskDetails(ApprovalTask());
  EXPECT_THAT(details, HasSubstr("id:          t1\n"));
  EXPECT_THAT(details, HasSubstr("namespace:   default\n"));
  EXPECT_THAT(details, HasSubstr("definition:  approval@1\n"));
  EXPECT_THAT(details, HasSubstr("labels:      env=dev team=ops\n"));
  EXPECT_THAT(details, HasSubstr("variables:   item=\"laptop\" n=2\n"));
  EXPECT_THAT(details, HasSubstr("created:     2024-05-01T10:00:00Z\n"));
  EXPECT_THAT(details, HasSubstr("error:       \"rejected by ana\"\n"));
  EXPECT_THAT(details, Not(HasSubstr("finished:")));
}

TEST(TaskDetailsTest, ShowsTheTasksNamespace) {
  v1::Task task = ApprovalTask();
  task.set_namespace_("billing");
  EXPECT_THAT(TaskDetails(task), HasSubstr("namespace:   billing\n"));
}

TEST(ValueTextTest, WritesValuesAsOnTheCommandLine) {
  v1::Value value;
  value.set_bool_(true);
  EXPECT_EQ(ValueText(value), "true");
  value.set_number(-2.5);
  EXPECT_EQ(ValueText(value), "-2.5");
  value.set_string("say \"hi\"");
  EXPECT_EQ(ValueText(value), "\"say \\\"hi\\\"\"");
}

TEST(ValueTextTest, WritesStructuredValuesAsOneLineOfJson) {
  v1::Value value;
  auto& fields =
      *value.mutable_json()->mutable_struct_value()->mutable_fields();
  fields["sku"].set_string_value("A\n1");
  auto& qty = *fields["qty"].mutable_list_value();
  qty.add_values()->set_number_value(1);
  qty.add_values()->set_null_value(google::protobuf::NULL_VALUE);
  fields["ok"].set_bool_value(true);
  EXPECT_EQ(ValueText(value), R"({"ok":true,"qty":[1,null],"sku":"A\n1"})");
}

TEST(ReceiptTextTest, SaysWhatHappenedToTheSignal) {
  v1::WakeTaskResponse receipt;
  receipt.set_disposition(v1::WakeTaskResponse::BUFFERED);
  receipt.set_sequence(1);
  EXPECT_EQ(ReceiptText(receipt), "buffered (signal #1)");
  receipt.set_disposition(v1::WakeTaskResponse::CONSUMED);
  receipt.set_duplicate(true);
  EXPECT_EQ(ReceiptText(receipt),
            "consumed (signal #1, duplicate request: not delivered again)");
}

TEST(FinishedLineTest, NamesTheOutcome) {
  v1::TaskResult result;
  result.set_status(v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(FinishedLine("t1", result), "task t1 completed");
  result.set_result("approved by ana");
  EXPECT_EQ(FinishedLine("t1", result), "task t1 completed: approved by ana");
  result.set_status(v1::TASK_STATUS_FAILED);
  result.set_error("rejected by bo");
  EXPECT_EQ(FinishedLine("t1", result), "task t1 failed: rejected by bo");
}

TEST(StatsTextTest, ShowsQueueAdmissionAndTasks) {
  v1::QueueStats stats;
  stats.set_run_queue_depth(3);
  stats.add_worker_queue_depths(1);
  stats.add_worker_queue_depths(1);
  stats.set_injection_queue_depth(1);
  stats.set_workers(2);
  stats.set_admission_capacity(1024);
  stats.set_admission_in_use(5);
  (*stats.mutable_tasks_by_status())["TASK_STATUS_AWAITING"] = 2;
  (*stats.mutable_tasks_by_status())["TASK_STATUS_COMPLETED"] = 3;
  EXPECT_EQ(StatsText(stats),
            "run queue depth: 3 (injection 1, workers 1 1)\n"
            "workers:         2\n"
            "admission:       5 of 1024 in use\n"
            "tasks:           AWAITING=2 COMPLETED=3\n"
            "work queues:     none\n");
}

TEST(StatsTextTest, ShowsEachWorkQueueAsATableRow) {
  v1::QueueStats stats;
  v1::WorkQueueStats* jobs = stats.add_work_queues();
  jobs->set_queue("jobs");
  jobs->set_depth(12);
  jobs->mutable_oldest_age()->set_seconds(75);
  jobs->mutable_oldest_age()->set_nanos(250'000'000);
  jobs->set_leased(3);
  v1::WorkQueueStats* mail = stats.add_work_queues();
  mail->set_queue("mail-outbound");
  mail->set_pollers(2);
  v1::WorkQueueStats* fresh = stats.add_work_queues();
  fresh->set_queue("x");
  fresh->set_depth(1);  // queued under a millisecond ago
  fresh->mutable_oldest_age()->set_nanos(400'000);
  const std::string text = StatsText(stats);
  EXPECT_THAT(text,
              HasSubstr("tasks:           none\n"
                        "work queues:\n"
                        "  QUEUE          DEPTH    OLDEST  POLLERS  LEASED\n"
                        "  jobs              12  1m15.25s        0       3\n"
                        "  mail-outbound      0         -        2       0\n"
                        "  x                  1        0s        0       0\n"));
}

TEST(StatsTextTest, SaysWhenNoWorkQueueIsInUse) {
  EXPECT_THAT(StatsText(v1::QueueStats()),
              HasSubstr("\nwork queues:     none\n"));
}

v1::Task WorkingTask() {
  v1::Task task;
  task.set_id("t2");
  task.set_status(v1::TASK_STATUS_WORKING);
  task.set_state("CHARGE");
  v1::WorkAttempt& work = *task.mutable_work();
  work.set_queue("jobs");
  work.set_attempt(2);
  work.mutable_scheduled_at()->set_seconds(1714557600);
  work.set_last_error("heartbeat_timeout");
  work.set_last_message("the worker sent no heartbeat");
  return task;
}

TEST(TaskDetailsTest, ShowsTheWorkAttemptAndTheWorkerHoldingIt) {
  v1::Task task = WorkingTask();
  v1::WorkLeaseRecord& lease = *task.mutable_work()->mutable_lease();
  lease.set_worker_identity("host-1/4242");
  lease.mutable_started_at()->set_seconds(1714557605);
  lease.mutable_heartbeat_deadline()->set_seconds(1714557615);
  lease.mutable_timeout_deadline()->set_seconds(1714557665);
  lease.set_cancel_requested(true);
  EXPECT_THAT(TaskDetails(task),
              HasSubstr("work:        queue jobs, attempt 2\n"
                        "worker:      \"host-1/4242\"\n"
                        "leased:      2024-05-01T10:00:05Z\n"
                        "heartbeat:   due by 2024-05-01T10:00:15Z\n"
                        "timeout:     2024-05-01T10:01:05Z\n"
                        "cancel:      requested (the worker hears it at its "
                        "next heartbeat)\n"
                        "last error:  heartbeat_timeout \"the worker sent no "
                        "heartbeat\"\n"));
}

TEST(TaskDetailsTest, ShowsAQueuedAttemptAndLeavesOutDeadlinesItLacks) {
  v1::Task task = WorkingTask();
  task.mutable_work()->clear_last_error();
  task.mutable_work()->clear_last_message();
  const std::string details = TaskDetails(task);
  EXPECT_THAT(details, HasSubstr("work:        queue jobs, attempt 2\n"
                                 "worker:      none yet (queued "
                                 "2024-05-01T10:00:00Z)\n"));
  for (const char* absent :
       {"leased:", "heartbeat:", "timeout:", "cancel:", "last error:"}) {
    EXPECT_THAT(details, Not(HasSubstr(absent))) << absent;
  }
  task.mutable_work()->clear_scheduled_at();
  EXPECT_THAT(TaskDetails(task), HasSubstr("worker:      none (waiting to "
                                           "retry: see deadline)\n"));
}

TEST(TaskDetailsTest, ShowsNoWorkOutsideAWorkState) {
  EXPECT_THAT(TaskDetails(ApprovalTask()), Not(HasSubstr("work:")));
}

TEST(DefinitionLineTest, ShowsNameVersionAndTime) {
  v1::DefinitionSummary summary;
  summary.set_name("hello");
  summary.mutable_registered_at()->set_seconds(1714557600);
  EXPECT_EQ(DefinitionLine(summary), "hello  registered 2024-05-01T10:00:00Z");
  summary.set_version("2");
  EXPECT_THAT(DefinitionLine(summary), HasSubstr("hello@2 "));
}

}  // namespace
}  // namespace corosched::cli
