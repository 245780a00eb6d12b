// End-to-end: tasks through their lives on a real daemon, driven with the
// generated stubs.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"

namespace corosched::e2e {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using TasksTest = DaemonTest;

v1::WakeTaskResponse Wake(v1::Scheduler::Stub& stub, const std::string& id,
                          const std::string& signal, const std::string& by = "",
                          const std::string& request_id = "") {
  v1::WakeTaskRequest request;
  request.set_task_id(id);
  request.set_signal(signal);
  request.set_request_id(request_id);
  if (!by.empty()) {
    (*request.mutable_payload()->mutable_fields())["by"].set_string_value(by);
  }
  v1::WakeTaskResponse response;
  grpc::Status status = stub.WakeTask(Deadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

bool IsAwaiting(v1::Scheduler::Stub& stub, const std::string& id) {
  return WaitFor(
      [&] { return GetTask(stub, id).status() == v1::TASK_STATUS_AWAITING; });
}

TEST_F(TasksTest, HelloExampleSaysHelloWorld) {
  v1::Task task = Submit(*stub_, LoadExample("hello.json"));
  ASSERT_FALSE(task.id().empty());
  WatchResult watch = Watch(*stub_, task.id());
  ASSERT_TRUE(watch.status.ok()) << watch.status.error_message();
  EXPECT_EQ(OutputText(watch.events), "Hello, World!\n");
  ASSERT_FALSE(watch.events.empty());
  for (size_t i = 0; i < watch.events.size(); ++i) {
    EXPECT_EQ(watch.events[i].sequence(), i + 1);
    EXPECT_TRUE(watch.events[i].has_time());
  }
  EXPECT_EQ(watch.events.front().transition().state(), "HELLO");
  ASSERT_TRUE(watch.events.back().has_finished());
  EXPECT_EQ(watch.events.back().finished().status(), v1::TASK_STATUS_COMPLETED);

  v1::Task done = GetTask(*stub_, task.id());
  EXPECT_EQ(done.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(done.state(), "END");
  EXPECT_EQ(done.last_event_sequence(), watch.events.size());
  EXPECT_TRUE(done.has_finished_at());
}

// A daemon on each store (`--durability` sync, the default, and none).
class EveryStoreTasksTest : public DaemonTest,
                            public ::testing::WithParamInterface<std::string> {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--durability", GetParam()};
  }
};

// The answer to a submit shows the task as submitted, whichever store
// holds it (the in-memory store answers a new task without copying its
// record back: the runner builds the answer itself).
TEST_P(EveryStoreTasksTest, SubmitAnswersTheTaskAsSubmitted) {
  v1::Task task = Submit(*stub_, LoadExample("hello.json"));
  EXPECT_EQ(task.id().size(), 24u);
  EXPECT_EQ(task.definition_name(), "hello");
  EXPECT_EQ(task.status(), v1::TASK_STATUS_READY);
  EXPECT_EQ(task.state(), "HELLO");
  EXPECT_EQ(task.last_event_sequence(), 1u);
  EXPECT_TRUE(task.has_created_at());
  EXPECT_FALSE(task.has_finished_at());
  WatchResult watch = Watch(*stub_, task.id());
  ASSERT_TRUE(watch.status.ok()) << watch.status.error_message();
  // HELLO, its output, WORLD, its output, END, END completed, finished.
  EXPECT_EQ(watch.events.size(), 7u);
}

INSTANTIATE_TEST_SUITE_P(Stores, EveryStoreTasksTest,
                         ::testing::Values("sync", "none"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "sync" ? "Sync" : "None";
                         });

TEST_F(TasksTest, ApprovalWokenWithApproveCompletes) {
  v1::Task task = Submit(*stub_, LoadExample("approval.json"),
                         {{"item", "car"}, {"manager", "bob"}});
  ASSERT_TRUE(IsAwaiting(*stub_, task.id()));
  v1::WakeTaskResponse receipt = Wake(*stub_, task.id(), "approve", "ana");
  EXPECT_EQ(receipt.disposition(), v1::WakeTaskResponse::CONSUMED);
  EXPECT_EQ(receipt.sequence(), 1u);
  WatchResult watch = Watch(*stub_, task.id());
  ASSERT_TRUE(watch.status.ok()) << watch.status.error_message();
  EXPECT_EQ(OutputText(watch.events),
            "approval requested for car\ncar approved by ana\n");
  EXPECT_EQ(watch.events.back().finished().result(), "approved by ana");
}

TEST_F(TasksTest, ApprovalWokenWithRejectFails) {
  v1::Task task = Submit(*stub_, LoadExample("approval.json"),
                         {{"item", "car"}, {"manager", "bob"}});
  ASSERT_TRUE(IsAwaiting(*stub_, task.id()));
  Wake(*stub_, task.id(), "reject");
  WatchResult watch = Watch(*stub_, task.id());
  ASSERT_TRUE(watch.status.ok()) << watch.status.error_message();
  EXPECT_THAT(OutputText(watch.events), HasSubstr("car rejected by someone"));
  EXPECT_EQ(watch.events.back().finished().status(), v1::TASK_STATUS_FAILED);
  EXPECT_EQ(GetTask(*stub_, task.id()).error(), "rejected by someone");
}

TEST_F(TasksTest, ApprovalLeftAloneEscalatesThenExpires) {
  v1::Task task = Submit(
      *stub_, ShortApproval(absl::Milliseconds(300), absl::Milliseconds(300)),
      {{"item", "car"}, {"manager", "bob"}});
  WatchResult watch = Watch(*stub_, task.id());
  ASSERT_TRUE(watch.status.ok()) << watch.status.error_message();
  EXPECT_EQ(OutputText(watch.events),
            "approval requested for car\n"
            "no answer for 1h: escalated to bob\n");
  const v1::TaskResult& result = watch.events.back().finished();
  EXPECT_EQ(result.status(), v1::TASK_STATUS_FAILED);
  EXPECT_EQ(result.error(), "nobody answered within a day");
}

TEST_F(TasksTest, WakeBeforeTheAwaitIsBufferedThenTaken) {
  v1::Task task = Submit(*stub_, SleepThenAwaitGo(absl::Seconds(2)));
  v1::WakeTaskResponse receipt = Wake(*stub_, task.id(), "go");
  EXPECT_EQ(receipt.disposition(), v1::WakeTaskResponse::BUFFERED);
  EXPECT_EQ(GetTask(*stub_, task.id()).mailbox_size(), 1u);
  WatchResult watch = Watch(*stub_, task.id());
  ASSERT_TRUE(watch.status.ok()) << watch.status.error_message();
  EXPECT_EQ(watch.events.back().finished().result(), "went");
  EXPECT_EQ(GetTask(*stub_, task.id()).mailbox_size(), 0u);
}

TEST_F(TasksTest, RepeatedWakeRequestIdIsAnsweredOnce) {
  v1::Task task = Submit(*stub_, AwaitGo());
  ASSERT_TRUE(IsAwaiting(*stub_, task.id()));
  v1::WakeTaskResponse first = Wake(*stub_, task.id(), "go", "", "req-1");
  EXPECT_FALSE(first.duplicate());
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, task.id()).status() == v1::TASK_STATUS_COMPLETED;
  }));
  // The task has ended, yet the retry gets the first receipt back.
  v1::WakeTaskResponse again = Wake(*stub_, task.id(), "go", "", "req-1");
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.sequence(), first.sequence());
  EXPECT_EQ(again.disposition(), first.disposition());
}

TEST_F(TasksTest, SubmitWithATaskIdIsIdempotent) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = LoadExample("hello.json");
  request.set_task_id("order-17");
  v1::SubmitTaskResponse first;
  ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), request, &first).ok());
  EXPECT_TRUE(first.created());
  EXPECT_EQ(first.task().id(), "order-17");
  v1::SubmitTaskResponse again;
  ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), request, &again).ok());
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.task().id(), "order-17");

  (*request.mutable_labels())["changed"] = "yes";
  v1::SubmitTaskResponse different;
  grpc::Status status =
      stub_->SubmitTask(Deadline().get(), request, &different);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("order-17"));
}

TEST_F(TasksTest, WatchFromTheMiddleResumesAfterTheSequence) {
  v1::Task task = Submit(*stub_, LoadExample("hello.json"));
  WatchResult all = Watch(*stub_, task.id());
  ASSERT_TRUE(all.status.ok());
  ASSERT_GT(all.events.size(), 3u);
  WatchResult tail = Watch(*stub_, task.id(), /*after_sequence=*/3);
  ASSERT_TRUE(tail.status.ok()) << tail.status.error_message();
  ASSERT_EQ(tail.events.size(), all.events.size() - 3);
  for (size_t i = 0; i < tail.events.size(); ++i) {
    EXPECT_EQ(tail.events[i].SerializeAsString(),
              all.events[i + 3].SerializeAsString());
  }
  WatchResult past_end =
      Watch(*stub_, task.id(), /*after_sequence=*/all.events.size());
  EXPECT_TRUE(past_end.status.ok());
  EXPECT_TRUE(past_end.events.empty());
}

TEST_F(TasksTest, WatchFollowsALiveTaskUntilItEnds) {
  v1::Task task = Submit(*stub_, AwaitGo());
  auto context = Deadline(absl::Seconds(20));
  v1::WatchTaskRequest request;
  request.set_task_id(task.id());
  auto reader = stub_->WatchTask(context.get(), request);
  std::string output;
  v1::TaskEvent event;
  while (output != "waiting\n" && reader->Read(&event)) {
    output += event.output().text();
  }
  ASSERT_EQ(output, "waiting\n");
  Wake(*stub_, task.id(), "go");
  std::vector<v1::TaskEvent> rest;
  while (reader->Read(&event)) rest.push_back(event);
  EXPECT_TRUE(reader->Finish().ok());
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().finished().result(), "went");
}

TEST_F(TasksTest, ConcurrentWatchersSeeEveryEventInOrder) {
  // Watches start while their tasks run, racing the events being recorded.
  std::vector<std::thread> threads;
  std::atomic<int> complete{0};
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        v1::Task task = Submit(*stub_, LoadExample("hello.json"));
        WatchResult watch = Watch(*stub_, task.id());
        EXPECT_TRUE(watch.status.ok()) << watch.status.error_message();
        EXPECT_EQ(OutputText(watch.events), "Hello, World!\n");
        for (size_t e = 0; e < watch.events.size(); ++e) {
          EXPECT_EQ(watch.events[e].sequence(), e + 1);
        }
        if (!watch.events.empty() && watch.events.back().has_finished()) {
          complete.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(complete.load(), 100);
}

TEST_F(TasksTest, ListFiltersAndPagesNewestFirst) {
  std::vector<std::string> hello_ids;
  hello_ids.reserve(5);
  for (int i = 0; i < 5; ++i) {
    hello_ids.push_back(Submit(*stub_, LoadExample("hello.json"), {},
                               {{"team", i % 2 == 0 ? "a" : "b"}})
                            .id());
  }
  std::string waiting = Submit(*stub_, AwaitGo(), {}, {{"team", "a"}}).id();
  ASSERT_TRUE(IsAwaiting(*stub_, waiting));

  auto list = [&](v1::ListTasksRequest request) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 20; ++pages) {
      v1::ListTasksResponse response;
      EXPECT_TRUE(stub_->ListTasks(Deadline().get(), request, &response).ok());
      for (const v1::Task& task : response.tasks()) ids.push_back(task.id());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return ids;
  };
  v1::ListTasksRequest paged;
  paged.set_page_size(2);
  EXPECT_THAT(list(paged),
              ElementsAre(waiting, hello_ids[4], hello_ids[3], hello_ids[2],
                          hello_ids[1], hello_ids[0]));
  v1::ListTasksRequest awaiting;
  awaiting.set_status(v1::TASK_STATUS_AWAITING);
  EXPECT_THAT(list(awaiting), ElementsAre(waiting));
  v1::ListTasksRequest team_a_hello;
  team_a_hello.set_definition_name("hello");
  (*team_a_hello.mutable_labels())["team"] = "a";
  EXPECT_THAT(list(team_a_hello),
              ElementsAre(hello_ids[4], hello_ids[2], hello_ids[0]));
}

TEST_F(TasksTest, CancelEndsTheTaskWithTheReason) {
  v1::Task task = Submit(*stub_, AwaitGo());
  ASSERT_TRUE(IsAwaiting(*stub_, task.id()));
  v1::CancelTaskRequest request;
  request.set_task_id(task.id());
  request.set_reason("no longer needed");
  v1::Task cancelled;
  ASSERT_TRUE(stub_->CancelTask(Deadline().get(), request, &cancelled).ok());
  EXPECT_EQ(cancelled.status(), v1::TASK_STATUS_CANCELLED);
  EXPECT_EQ(cancelled.error(), "no longer needed");
  WatchResult watch = Watch(*stub_, task.id());
  ASSERT_TRUE(watch.status.ok());
  EXPECT_EQ(watch.events.back().finished().status(), v1::TASK_STATUS_CANCELLED);

  v1::Task again;
  request.set_reason("twice");
  ASSERT_TRUE(stub_->CancelTask(Deadline().get(), request, &again).ok());
  EXPECT_EQ(again.error(), "no longer needed");  // returned as it is
}

TEST_F(TasksTest, DelayedStartWaitsUntilItsTime) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = LoadExample("hello.json");
  request.mutable_start_after()->set_nanos(500 * 1000 * 1000);
  v1::SubmitTaskResponse response;
  ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), request, &response).ok());
  ASSERT_TRUE(response.task().has_start_at());
  WatchResult watch = Watch(*stub_, response.task().id());
  ASSERT_TRUE(watch.status.ok());
  EXPECT_EQ(OutputText(watch.events), "Hello, World!\n");
  for (const v1::TaskEvent& event : watch.events) {
    if (!event.has_output()) continue;
    EXPECT_GE(event.time().seconds() * 1000000000LL + event.time().nanos(),
              response.task().start_at().seconds() * 1000000000LL +
                  response.task().start_at().nanos());
  }
}

TEST_F(TasksTest, RegisteredDefinitionsRunByName) {
  v1::RegisterDefinitionRequest registration;
  *registration.mutable_definition() = LoadExample("approval.json");
  v1::RegisterDefinitionResponse registered;
  ASSERT_TRUE(
      stub_->RegisterDefinition(Deadline().get(), registration, &registered)
          .ok());
  EXPECT_TRUE(registered.created());
  ASSERT_TRUE(
      stub_->RegisterDefinition(Deadline().get(), registration, &registered)
          .ok());
  EXPECT_FALSE(registered.created());
  registration.mutable_definition()->set_description("changed");
  grpc::Status changed =
      stub_->RegisterDefinition(Deadline().get(), registration, &registered);
  EXPECT_EQ(changed.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::ListDefinitionsResponse listed;
  ASSERT_TRUE(stub_->ListDefinitions(Deadline().get(), {}, &listed).ok());
  ASSERT_EQ(listed.definitions_size(), 1);
  EXPECT_EQ(listed.definitions(0).name(), "approval");

  v1::SubmitTaskRequest request;
  request.mutable_definition_ref()->set_name("approval");
  (*request.mutable_inputs())["item"] = Text("boat");
  v1::SubmitTaskResponse response;
  ASSERT_TRUE(stub_->SubmitTask(Deadline().get(), request, &response).ok());
  EXPECT_EQ(response.task().definition_version(), "1");
  ASSERT_TRUE(IsAwaiting(*stub_, response.task().id()));
  Wake(*stub_, response.task().id(), "approve", "eve");
  WatchResult watch = Watch(*stub_, response.task().id());
  EXPECT_EQ(watch.events.back().finished().result(), "approved by eve");
}

TEST_F(TasksTest, SubmitTasksAnswersEveryRequestInOrder) {
  auto context = Deadline();
  auto stream = stub_->SubmitTasks(context.get());
  constexpr int kRequests = 50;
  for (int i = 0; i < kRequests; ++i) {
    v1::SubmitTaskRequest request;
    if (i != 7) *request.mutable_definition() = LoadExample("hello.json");
    ASSERT_TRUE(stream->Write(request));
  }
  ASSERT_TRUE(stream->WritesDone());
  std::vector<v1::SubmitTasksResponse> answers;
  v1::SubmitTasksResponse answer;
  while (stream->Read(&answer)) answers.push_back(answer);
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(answers.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(answers[i].index(), static_cast<uint64_t>(i));
    if (i == 7) {
      EXPECT_EQ(answers[i].code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(answers[i].message(), HasSubstr("definition"));
    } else {
      EXPECT_EQ(answers[i].code(), 0) << answers[i].message();
      EXPECT_TRUE(answers[i].response().created());
    }
  }
}

TEST_F(TasksTest, QueueStatsCountTasksByStatus) {
  Submit(*stub_, AwaitGo());
  std::string hello = Submit(*stub_, LoadExample("hello.json")).id();
  ASSERT_TRUE(Watch(*stub_, hello).status.ok());
  v1::QueueStats stats;
  ASSERT_TRUE(WaitFor([&] {
    stats.Clear();
    return stub_->GetQueueStats(Deadline().get(), {}, &stats).ok() &&
           stats.tasks_by_status().count("TASK_STATUS_AWAITING") == 1;
  }));
  EXPECT_EQ(stats.tasks_by_status().at("TASK_STATUS_COMPLETED"), 1u);
  EXPECT_EQ(stats.admission_in_use(), 1u);
  EXPECT_EQ(stats.admission_capacity(), 100000u);
  EXPECT_GE(stats.workers(), 1u);
  EXPECT_EQ(static_cast<uint32_t>(stats.worker_queue_depths_size()),
            stats.workers());
}

}  // namespace
}  // namespace corosched::e2e
