// End-to-end: server reflection lists the Scheduler and health services, so
// tools such as grpcurl work without the .proto files.

#include <string>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;

// Completion-queue tags: the addresses of these bytes.
char tags[5];
void* Tag(int tag) { return &tags[tag]; }

// Waits for the completion of the operation tagged `tag`; false on failure.
bool Await(grpc::CompletionQueue& queue, int tag) {
  void* got = nullptr;
  bool ok = false;
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(10);
  if (queue.AsyncNext(&got, &ok, deadline) !=
      grpc::CompletionQueue::NextStatus::GOT_EVENT) {
    return false;
  }
  return ok && got == Tag(tag);
}

// ServerReflectionInfo with one `list_services` request, without the
// reflection .proto: the request is field 7 (a string) set to "", and the
// service names appear verbatim in the response bytes.
std::string ListServicesResponseBytes(const std::string& address) {
  grpc::GenericStub stub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  std::string text;
  call->StartCall(Tag(1));
  if (!Await(queue, 1)) return text;
  const char request_bytes[] = {0x3a, 0x00};  // list_services: ""
  grpc::Slice slice(request_bytes, sizeof(request_bytes));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, Tag(2));
  if (!Await(queue, 2)) return text;
  grpc::ByteBuffer response;
  call->Read(&response, Tag(3));
  if (Await(queue, 3)) {
    grpc::Slice joined;
    if (response.DumpToSingleSlice(&joined).ok()) {
      text.assign(reinterpret_cast<const char*>(joined.begin()), joined.size());
    }
  }
  context.TryCancel();
  grpc::Status status;
  call->Finish(&status, Tag(4));
  Await(queue, 4);
  queue.Shutdown();
  void* ignored_tag;
  bool ignored_ok;
  while (queue.Next(&ignored_tag, &ignored_ok)) {
  }
  return text;
}

TEST(ReflectionTest, ListsTheSchedulerAndHealthServices) {
  auto server = testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string services = ListServicesResponseBytes((*server)->address());
  EXPECT_THAT(services, HasSubstr("corosched.v1.Scheduler"));
  EXPECT_THAT(services, HasSubstr("grpc.health.v1.Health"));
  EXPECT_EQ((*server)->Stop().value_or(-1), 0) << (*server)->Stderr();
}

}  // namespace
}  // namespace corosched::e2e
