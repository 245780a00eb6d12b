#include "server/grpc/grpc_status.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

TEST(ToGrpcStatusTest, KeepsTheCodeAndAShortMessage) {
  grpc::Status status = ToGrpcStatus(absl::NotFoundError("no task \"t\""));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no task \"t\"");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(ToGrpcStatusTest, CutsAMessageOverTheBoundAndSaysSo) {
  const std::string long_message(100000, 'x');
  grpc::Status status =
      ToGrpcStatus(absl::InvalidArgumentError("field: " + long_message));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(status.error_message().size(), kMaxGrpcMessageBytes);
  EXPECT_THAT(status.error_message(), StartsWith("field: xxx"));
  EXPECT_THAT(status.error_message(),
              EndsWith("... (message cut; 100007 bytes in all)"));
}

TEST(ToGrpcStatusTest, DoesNotCutInsideAUtf8Character) {
  std::string message;
  while (message.size() < 2 * kMaxGrpcMessageBytes) message += "\xC3\xA9";
  grpc::Status status = ToGrpcStatus(absl::InternalError(message));
  const std::string& cut = status.error_message();
  const size_t note = cut.find("... (message cut");
  ASSERT_NE(note, std::string::npos);
  EXPECT_EQ(note % 2, 0u) << "cut inside a two-byte character";
}

}  // namespace
}  // namespace corosched::server
