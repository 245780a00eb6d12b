// End-to-end: hostile input gets a short, precise answer. Echoed client text
// is cut (so an error never outgrows the client's metadata limit), NaN and
// infinities are refused wherever a number enters, and a start delay past
// --max-start-delay is refused before it can hold an admission slot.

#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"

namespace corosched::e2e {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr size_t kShortMessage = 1024;

class HardeningInputTest : public DaemonTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"--max-start-delay", "1h"};
  }

  grpc::Status SubmitRequest(const v1::SubmitTaskRequest& request) {
    v1::SubmitTaskResponse response;
    return stub_->SubmitTask(Deadline().get(), request, &response);
  }

  uint64_t AdmissionInUse() {
    v1::QueueStats stats;
    EXPECT_TRUE(stub_->GetQueueStats(Deadline().get(), {}, &stats).ok());
    return stats.admission_in_use();
  }
};

// An id over the 128-byte limit can name no task: refused before any
// lookup, echoing only its first bytes.
void ExpectShortRefusal(const grpc::Status& status, const char* call) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << call;
  EXPECT_LT(status.error_message().size(), kShortMessage) << call;
  EXPECT_THAT(status.error_message(), HasSubstr("...\" (10240 bytes)")) << call;
}

TEST_F(HardeningInputTest, AHugeTaskIdGetsAShortRefusal) {
  const std::string id(10240, 'x');
  v1::Task task;
  v1::GetTaskRequest get;
  get.set_task_id(id);
  ExpectShortRefusal(stub_->GetTask(Deadline().get(), get, &task), "GetTask");
  v1::WakeTaskRequest wake;
  wake.set_task_id(id);
  wake.set_signal("go");
  v1::WakeTaskResponse receipt;
  ExpectShortRefusal(stub_->WakeTask(Deadline().get(), wake, &receipt),
                     "WakeTask");
  v1::CancelTaskRequest cancel;
  cancel.set_task_id(id);
  ExpectShortRefusal(stub_->CancelTask(Deadline().get(), cancel, &task),
                     "CancelTask");
  ExpectShortRefusal(Watch(*stub_, id).status, "WatchTask");

  v1::SubmitTaskRequest submit;
  *submit.mutable_definition() = AwaitGo();
  submit.set_task_id(id);
  grpc::Status refused = SubmitRequest(submit);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(refused.error_message().size(), kShortMessage);
  EXPECT_THAT(refused.error_message(),
              AllOf(HasSubstr("task_id: \"xxx"), HasSubstr("(10240 bytes)")));
}

TEST_F(HardeningInputTest, AHugeDefinitionNameGetsAShortInvalidArgument) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = AwaitGo();
  const std::string huge(400 * 1024, 'S');  // twice: under 1 MiB
  request.mutable_definition()->set_name(huge);
  request.mutable_definition()->set_initial(huge);
  grpc::Status status = SubmitRequest(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(status.error_message().size(), size_t{8192});
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("initial: unknown state \"SSS"),
                    HasSubstr("(409600 bytes)")));
}

TEST_F(HardeningInputTest, NonFiniteNumbersAreInvalidArguments) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = AwaitGo();
  (*request.mutable_inputs())["count"].set_number(
      std::numeric_limits<double>::infinity());
  grpc::Status submit = SubmitRequest(request);
  EXPECT_EQ(submit.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(submit.error_message(),
              HasSubstr("inputs: input \"count\": NaN and infinities are not "
                        "numbers a task can hold"));

  v1::Task task = Submit(*stub_, AwaitGo());
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(*stub_, task.id()).status() == v1::TASK_STATUS_AWAITING;
  }));
  v1::WakeTaskRequest wake;
  wake.set_task_id(task.id());
  wake.set_signal("go");
  (*wake.mutable_payload()->mutable_fields())["n"].set_number_value(
      std::numeric_limits<double>::quiet_NaN());
  v1::WakeTaskResponse receipt;
  grpc::Status woken = stub_->WakeTask(Deadline().get(), wake, &receipt);
  EXPECT_EQ(woken.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(woken.error_message(),
              HasSubstr("\"signal.n\": NaN and infinities"));
  EXPECT_EQ(GetTask(*stub_, task.id()).status(), v1::TASK_STATUS_AWAITING);
}

TEST_F(HardeningInputTest, AStartPastTheMaxStartDelayIsRefused) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = AwaitGo();
  request.mutable_start_after()->set_seconds(1000000000000);
  grpc::Status after = SubmitRequest(request);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(after.error_message(),
              AllOf(HasSubstr("start_after: 1000000000000s"),
                    HasSubstr("--max-start-delay 1h")));
  request.mutable_start_after()->set_seconds(2 * 3600);
  EXPECT_EQ(SubmitRequest(request).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  request.clear_start_after();
  request.mutable_start_at()->set_seconds(253402300799);  // 9999-12-31
  grpc::Status at = SubmitRequest(request);
  EXPECT_EQ(at.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(at.error_message(), AllOf(HasSubstr("start_at: 9999-12-31T"),
                                        HasSubstr("--max-start-delay 1h")));
  EXPECT_EQ(AdmissionInUse(), 0u);  // nothing refused holds a slot

  request.clear_start_at();
  request.mutable_start_after()->set_seconds(30 * 60);
  grpc::Status within = SubmitRequest(request);
  EXPECT_TRUE(within.ok()) << within.error_message();
  EXPECT_EQ(AdmissionInUse(), 1u);
}

}  // namespace
}  // namespace corosched::e2e
