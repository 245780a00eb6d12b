// End-to-end: the daemon against rough clients and a rough disk. Stalled
// HTTP clients on /metrics, request bytes that are no protobuf message, and
// a data directory with too little free space.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/http_get.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ServerProcess;

using HardeningDaemonTest = DaemonTest;

// One call of any kind, driven as a bidi stream (the wire is the same):
// sends `messages` as the request messages, half-closes, and collects the
// answers and the status.
class RawCall final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RawCall(grpc::GenericStub& stub, const std::string& method,
          const std::vector<std::string>& messages) {
    for (const std::string& bytes : messages) {
      grpc::Slice slice(bytes.data(), bytes.size());
      requests_.emplace_back(&slice, 1);
    }
    context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    stub.PrepareBidiStreamingCall(&context_, method, grpc::StubOptions(), this);
    WriteNext();
    StartRead(&answer_);
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    absl::MutexLock lock(&mu_);
    answers_.push_back(answer_);
    StartRead(&answer_);
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  // Waits for the end of the call (bounded by its deadline).
  grpc::Status Await() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return status_;
  }
  // The answers, once Await returned.
  std::vector<grpc::ByteBuffer> answers() {
    absl::MutexLock lock(&mu_);
    return answers_;
  }

 private:
  // Writes requests_[next_write_], the last one with the half-close.
  void WriteNext() {
    if (next_write_ == requests_.size()) return;
    const grpc::ByteBuffer* request = &requests_[next_write_++];
    if (next_write_ < requests_.size()) {
      StartWrite(request);
    } else {
      StartWriteLast(request, grpc::WriteOptions());
    }
  }

  grpc::ClientContext context_;
  std::vector<grpc::ByteBuffer> requests_;
  size_t next_write_ = 0;  // only the write chain touches it
  grpc::ByteBuffer answer_;
  absl::Mutex mu_;
  std::vector<grpc::ByteBuffer> answers_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

// Bytes that are no protobuf message of any type.
const std::string kNotAMessage[] = {
    "\xff\xff\xff\xff",  // a varint that never ends
    "\x0a\x05"
    "ab",  // field 1 claims 5 bytes and has 2
};

const google::protobuf::ServiceDescriptor& SchedulerDescriptor() {
  return *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      v1::Scheduler::service_full_name());
}

TEST_F(HardeningDaemonTest, BytesThatAreNoMessageAreInvalidArguments) {
  grpc::GenericStub stub(channel_);
  const google::protobuf::ServiceDescriptor& service = SchedulerDescriptor();
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor& method = *service.method(i);
    if (method.client_streaming()) continue;  // SubmitTasks: the next test
    for (const std::string& bytes : kNotAMessage) {
      SCOPED_TRACE(
          absl::StrCat(method.full_name(), " with ", bytes.size(), " bytes"));
      RawCall call(stub,
                   absl::StrCat("/", service.full_name(), "/", method.name()),
                   {bytes});
      const grpc::Status status = call.Await();
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(
          status.error_message(),
          HasSubstr(absl::StrCat(
              "not a valid ", method.input_type()->full_name(), " message")));
    }
  }
  // The daemon still serves.
  v1::Task hello = Submit(*stub_, LoadExample("hello.json"));
  EXPECT_EQ(OutputText(Watch(*stub_, hello.id()).events), "Hello, World!\n");
}

TEST_F(HardeningDaemonTest, MetricsAnswerWhileClientsStallTheirRequests) {
  ASSERT_FALSE(server_->metrics_address().empty());
  std::vector<std::unique_ptr<testing::StalledHttpRequest>> stalled;
  for (int i = 0; i < 8; ++i) {
    auto client = testing::StalledHttpRequest::Open(server_->metrics_address());
    ASSERT_TRUE(client.ok()) << client.status();
    stalled.push_back(*std::move(client));
  }
  absl::StatusOr<testing::HttpResponse> scrape = testing::HttpGet(
      server_->metrics_address(), "/metrics", /*timeout=*/absl::Seconds(3));
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_EQ(scrape->status, 200);
  EXPECT_THAT(scrape->body, HasSubstr("corosched_build_info"));
  // And the stalled clients are let go, well before civetweb's default 30 s.
  for (const auto& client : stalled) {
    EXPECT_TRUE(client->ClosedByServer(absl::Seconds(10)));
  }
}

TEST_F(HardeningDaemonTest, SubmitTasksAnswersBytesThatAreNoMessageInItsTurn) {
  grpc::GenericStub stub(channel_);
  v1::SubmitTaskRequest hello;
  *hello.mutable_definition() = LoadExample("hello.json");
  RawCall call(stub, "/corosched.v1.Scheduler/SubmitTasks",
               {kNotAMessage[0], hello.SerializeAsString(), kNotAMessage[1]});
  const grpc::Status status = call.Await();
  EXPECT_TRUE(status.ok()) << status.error_code() << " "
                           << status.error_message();
  std::vector<v1::SubmitTasksResponse> answers;
  for (const grpc::ByteBuffer& bytes : call.answers()) {
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(bytes.Dump(&slices).ok());
    std::string flat;
    for (const grpc::Slice& slice : slices) {
      flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    ASSERT_TRUE(answers.emplace_back().ParseFromString(flat));
  }
  ASSERT_EQ(answers.size(), 3u);
  for (int bad : {0, 2}) {
    EXPECT_EQ(answers[bad].index(), static_cast<uint64_t>(bad));
    EXPECT_EQ(answers[bad].code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(
        answers[bad].message(),
        HasSubstr("not a valid corosched.v1.SubmitTaskRequest message"));
  }
  EXPECT_EQ(answers[1].index(), 1u);
  EXPECT_EQ(answers[1].code(), grpc::StatusCode::OK);
  EXPECT_EQ(OutputText(Watch(*stub_, answers[1].response().task().id()).events),
            "Hello, World!\n");
}

// Far more than any disk has free, and still a size --min-free-disk takes.
constexpr char kMoreThanAnyDisk[] = "1000000TiB";

// Launches a daemon that must refuse to start; returns its stderr after
// checking it exited 1 without ever writing its ready file.
std::string ExpectRefusedStart(testing::ServerProcessOptions options) {
  auto server = ServerProcess::Launch(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return "";
  // FAILED_PRECONDITION: it exited before any ready file appeared.
  EXPECT_EQ((*server)->WaitUntilReady(absl::Seconds(30)).code(),
            absl::StatusCode::kFailedPrecondition)
      << (*server)->Stderr();
  absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(30));
  EXPECT_TRUE(code.ok()) << (*server)->Stderr();
  EXPECT_EQ(code.value_or(-1), 1) << (*server)->Stderr();
  std::string log = (*server)->Stderr();
  EXPECT_THAT(log, Not(HasSubstr("event=ready")));
  EXPECT_THAT(log, Not(HasSubstr("event=listening")));
  return log;
}

TEST(StartupDiskTest, RefusesToStartOnADiskShortOfFreeSpace) {
  const std::string log =
      ExpectRefusedStart({.args = {"--min-free-disk", kMoreThanAnyDisk}});
  EXPECT_THAT(log, HasSubstr("event=start_failed"));
  EXPECT_THAT(log, HasSubstr("data directory "));
  EXPECT_THAT(log, HasSubstr(" free, less than the 1000000 TiB "
                             "--min-free-disk asks for; free some space"));
}

TEST(StartupDiskTest, TheBoundComesFromTheEnvironmentToo) {
  const std::string log = ExpectRefusedStart(
      {.env = {{"COROSCHED_MIN_FREE_DISK", kMoreThanAnyDisk}}});
  EXPECT_THAT(log, HasSubstr("--min-free-disk asks for"));
}

TEST(StartupDiskTest, DurabilityNoneHasNoDiskToCheck) {
  auto server = ServerProcess::Start(
      {.args = {"--durability=none", "--min-free-disk", kMoreThanAnyDisk}});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->Stop().value_or(-1), 0) << (*server)->Stderr();
}

}  // namespace
}  // namespace corosched::e2e
