// Bad input from workers, end to end: tokens that are no token or name no
// lease, results a task cannot hold, an answer sent twice, bad queue names
// and waits, a stream used out of order. Each is answered with a clear
// code and leaves the lease as it was.

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/server/work_support.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

class WorkInputTest : public DaemonTest {
 protected:
  // Submits a job on `queue` and takes its item.
  void TakeJob(const std::string& queue) {
    task_ = SubmitJob(
        *stub_, WorkJob(queue, R"("heartbeat": "30s", "timeout": "60s")"), "a");
    std::optional<v1::WorkItem> item = TakeItem(*stub_, queue);
    ASSERT_TRUE(item.has_value());
    item_ = *item;
  }

  // The lease still holds and the task has not moved.
  void ExpectLeaseIntact() {
    EXPECT_TRUE(HeartbeatWork(*stub_, item_.token()).ok());
    const v1::Task task = GetTask(*stub_, task_.id());
    EXPECT_EQ(task.status(), v1::TASK_STATUS_WORKING) << task.DebugString();
    EXPECT_EQ(task.work().attempt(), 1u);
    EXPECT_FALSE(task.variables().contains("r"));
  }

  // Every token call with `token` is answered `code`.
  void ExpectRefused(const std::string& token, grpc::StatusCode code,
                     const std::string& what) {
    grpc::Status complete = CompleteWork(*stub_, token, JsonText("forged"));
    EXPECT_EQ(complete.error_code(), code)
        << what << ": " << complete.error_message();
    EXPECT_FALSE(complete.error_message().empty()) << what;
    grpc::Status fail = FailWork(*stub_, token, "Forged", "", false);
    EXPECT_EQ(fail.error_code(), code) << what << ": " << fail.error_message();
    grpc::Status beat = HeartbeatWork(*stub_, token);
    EXPECT_EQ(beat.error_code(), code) << what << ": " << beat.error_message();
  }

  v1::Task task_;
  v1::WorkItem item_;
};

TEST_F(WorkInputTest, TokensThatAreNoTokenAreInvalidArguments) {
  ASSERT_NO_FATAL_FAILURE(TakeJob("tokens"));
  const std::string& token = item_.token();
  ExpectRefused("", grpc::StatusCode::INVALID_ARGUMENT, "empty");
  ExpectRefused("random bytes", grpc::StatusCode::INVALID_ARGUMENT, "random");
  ExpectRefused(token.substr(0, 10), grpc::StatusCode::INVALID_ARGUMENT,
                "truncated into its header");
  ExpectRefused(std::string(4096, 'x'), grpc::StatusCode::INVALID_ARGUMENT,
                "4 KiB");
  std::string version = token;
  version[0] = static_cast<char>(version[0] ^ 0x40);
  ExpectRefused(version, grpc::StatusCode::INVALID_ARGUMENT, "version flipped");
  ExpectLeaseIntact();
}

TEST_F(WorkInputTest, WellFormedTokensOfNoLeaseAreRefusedAsPreconditions) {
  ASSERT_NO_FATAL_FAILURE(TakeJob("forged"));
  const std::string& token = item_.token();
  // Bytes 5..20 are the nonce (server/work/work_token.h).
  for (size_t at : {size_t{5}, size_t{12}, size_t{20}}) {
    std::string forged = token;
    forged[at] = static_cast<char>(forged[at] ^ 0x01);
    ExpectRefused(forged, grpc::StatusCode::FAILED_PRECONDITION,
                  absl::StrCat("nonce byte ", at, " flipped"));
  }
  std::string attempt = token;
  attempt[4] = static_cast<char>(attempt[4] ^ 0x02);  // attempt 3
  ExpectRefused(attempt, grpc::StatusCode::FAILED_PRECONDITION,
                "attempt changed");
  ExpectRefused(token.substr(0, token.size() - 1),
                grpc::StatusCode::FAILED_PRECONDITION, "task id truncated");
  ExpectRefused(token + "x", grpc::StatusCode::FAILED_PRECONDITION,
                "another task id");
  ExpectLeaseIntact();
  // And the real token still completes the task.
  ASSERT_TRUE(CompleteWork(*stub_, token, JsonText("real")).ok());
  EXPECT_EQ(AwaitFinished(*stub_, task_.id()).result(), "real");
}

google::protobuf::Value Nested(int depth) {
  google::protobuf::Value value = JsonText("core");
  for (int i = 0; i < depth; ++i) {
    google::protobuf::Value outer;
    *outer.mutable_list_value()->add_values() = std::move(value);
    value = std::move(outer);
  }
  return value;
}

TEST_F(WorkInputTest, AResultTheTaskCannotHoldIsRefusedAndTheLeaseKept) {
  ASSERT_NO_FATAL_FAILURE(TakeJob("results"));
  google::protobuf::Value nan;
  nan.set_number_value(std::nan(""));
  grpc::Status refused = CompleteWork(*stub_, item_.token(), nan);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("result"));
  ExpectLeaseIntact();

  // Deeper than any value may nest (protobuf itself parses it).
  refused = CompleteWork(*stub_, item_.token(), Nested(40));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("result"));
  ExpectLeaseIntact();

  // Over the 64 KiB a value may hold, under the message limit.
  refused = CompleteWork(*stub_, item_.token(),
                         JsonText(std::string(size_t{100} * 1024, 'a')));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("limit"));
  ExpectLeaseIntact();

  // Over the daemon's message limit (1 MiB): gRPC refuses it unread.
  refused = CompleteWork(*stub_, item_.token(),
                         JsonText(std::string(size_t{2} * 1024 * 1024, 'a')));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  ExpectLeaseIntact();

  ASSERT_TRUE(CompleteWork(*stub_, item_.token(), JsonText("fits")).ok());
  EXPECT_EQ(AwaitFinished(*stub_, task_.id()).result(), "fits");
}

TEST_F(WorkInputTest, AFailureWithABadErrorNameIsRefusedAndTheLeaseKept) {
  ASSERT_NO_FATAL_FAILURE(TakeJob("failures"));
  grpc::Status refused = FailWork(*stub_, item_.token(), "", "why", true);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << refused.error_message();
  refused = FailWork(*stub_, item_.token(), std::string(129, 'E'), "", true);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << refused.error_message();
  refused = FailWork(*stub_, item_.token(), "Big",
                     std::string(size_t{33} * 1024, 'm'), true);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << refused.error_message();
  ExpectLeaseIntact();
}

TEST_F(WorkInputTest, CompletingTwiceIsAnsweredAlreadyCompletedAndAppliedOnce) {
  ASSERT_NO_FATAL_FAILURE(TakeJob("twice"));
  ASSERT_TRUE(CompleteWork(*stub_, item_.token(), JsonText("first")).ok());
  grpc::Status again = CompleteWork(*stub_, item_.token(), JsonText("second"));
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(again.error_message(), StartsWith("already completed"));
  grpc::Status fail = FailWork(*stub_, item_.token(), "Late", "", true);
  EXPECT_EQ(fail.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  const v1::Task ended = AwaitFinished(*stub_, task_.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_EQ(ended.result(), "first");
  // The work state was left once: one transition into DONE.
  WatchResult watched = Watch(*stub_, task_.id());
  ASSERT_TRUE(watched.status.ok()) << watched.status.error_message();
  int done = 0;
  for (const v1::TaskEvent& event : watched.events) {
    if (event.has_transition() && event.transition().state() == "DONE") ++done;
  }
  EXPECT_EQ(done, 1);
}

TEST_F(WorkInputTest, FailingTwiceIsAnsweredAlreadyFailed) {
  ASSERT_NO_FATAL_FAILURE(TakeJob("fail-twice"));
  ASSERT_TRUE(FailWork(*stub_, item_.token(), "Boom", "once", false).ok());
  grpc::Status again = FailWork(*stub_, item_.token(), "Boom", "twice", false);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(again.error_message(), StartsWith("already failed"));
  const v1::Task ended = AwaitFinished(*stub_, task_.id());
  EXPECT_EQ(ended.status(), v1::TASK_STATUS_FAILED);
  EXPECT_THAT(ended.error(), HasSubstr("once"));
}

const std::vector<std::string>& BadQueueNames() {
  static const auto* names = new std::vector<std::string>{
      "", std::string(65, 'q'), "bad queue", "q/1", "caf\xc3\xa9", "q\n"};
  return *names;
}

TEST_F(WorkInputTest, PollWorkRefusesBadQueuesWaitsAndCounts) {
  std::vector<v1::WorkItem> items;
  for (const std::string& queue : BadQueueNames()) {
    grpc::Status status =
        PollWork(*stub_, queue, absl::ZeroDuration(), 1, &items);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "queue \"" << queue << "\": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("queue")) << queue;
  }
  EXPECT_TRUE(
      PollWork(*stub_, std::string(64, 'q'), absl::ZeroDuration(), 1, &items)
          .ok());
  for (absl::Duration wait : {absl::Seconds(-1), absl::Seconds(61)}) {
    grpc::Status status = PollWork(*stub_, "jobs", wait, 1, &items);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << wait << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("wait"));
  }
  grpc::Status status =
      PollWork(*stub_, "jobs", absl::ZeroDuration(), 101, &items);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  status = PollWork(*stub_, "jobs", absl::ZeroDuration(), 1, &items,
                    std::string(257, 'w'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
}

// Writes `requests` on a new WorkStream and returns how it ended.
grpc::Status StreamEnd(v1::Scheduler::Stub& stub,
                       const std::vector<v1::WorkStreamRequest>& requests) {
  auto context = Deadline(absl::Seconds(10));
  auto stream = stub.WorkStream(context.get());
  for (const v1::WorkStreamRequest& request : requests) {
    if (!stream->Write(request)) break;
  }
  stream->WritesDone();
  v1::WorkStreamResponse ignored;
  while (stream->Read(&ignored)) {
  }
  return stream->Finish();
}

TEST_F(WorkInputTest, AWorkStreamMustOpenFirstOnAValidQueueAndOnlyOnce) {
  v1::WorkStreamRequest credit;
  credit.mutable_credit()->set_items(1);
  grpc::Status status = StreamEnd(*stub_, {credit});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("open"));
  status = StreamEnd(*stub_, {v1::WorkStreamRequest()});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::WorkStreamRequest open;
  open.mutable_open()->set_queue("jobs");
  status = StreamEnd(*stub_, {open, open});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("first"));
  v1::WorkStreamRequest too_much;
  too_much.mutable_credit()->set_items(101);
  status = StreamEnd(*stub_, {open, too_much});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  for (const std::string& queue : BadQueueNames()) {
    v1::WorkStreamRequest bad;
    bad.mutable_open()->set_queue(queue);
    status = StreamEnd(*stub_, {bad});
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "queue \"" << queue << "\": " << status.error_message();
  }
  // A good stream, closed by the worker, ends OK.
  EXPECT_TRUE(StreamEnd(*stub_, {open, credit}).ok());
}

}  // namespace
}  // namespace corosched::e2e
