#include "client/status.h"

#include "gtest/gtest.h"

namespace corosched {
namespace {

TEST(FromGrpcStatusTest, KeepsOk) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(FromGrpcStatusTest, KeepsEveryCanonicalCodeAndTheMessage) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status status = FromGrpcStatus(
        grpc::Status(static_cast<grpc::StatusCode>(code), "what to fix"));
    EXPECT_EQ(static_cast<int>(status.code()), code);
    EXPECT_EQ(status.message(), "what to fix");
  }
  EXPECT_EQ(
      FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "x")).code(),
      absl::StatusCode::kNotFound);
}

TEST(FromStatusCodeTest, MapsNumbersAndTurnsStrangeOnesIntoUnknown) {
  EXPECT_TRUE(FromStatusCode(0, "ignored").ok());
  EXPECT_EQ(FromStatusCode(5, "gone").code(), absl::StatusCode::kNotFound);
  for (int strange : {-1, 17, 99}) {
    absl::Status status = FromStatusCode(strange, "odd");
    EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << strange;
    EXPECT_EQ(status.message(), "odd");
  }
}

}  // namespace
}  // namespace corosched
