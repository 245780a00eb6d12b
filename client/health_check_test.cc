#include "client/health_check.h"

#include <string>

#include "gtest/gtest.h"

namespace corosched::internal {
namespace {

TEST(HealthCheckWireTest, EncodesTheServiceName) {
  EXPECT_EQ(EncodeHealthCheckRequest(""), "");
  EXPECT_EQ(EncodeHealthCheckRequest("corosched.v1.Scheduler"),
            std::string("\x0a\x16") + "corosched.v1.Scheduler");
}

TEST(HealthCheckWireTest, DecodesTheStatus) {
  EXPECT_EQ(DecodeHealthCheckResponse("").value_or(-1),
            0);  // proto3 default: UNKNOWN
  EXPECT_EQ(DecodeHealthCheckResponse(std::string("\x08\x01", 2)).value_or(-1),
            1);
  EXPECT_EQ(DecodeHealthCheckResponse(std::string("\x08\x02", 2)).value_or(-1),
            2);
  // An unknown field before the status is skipped.
  EXPECT_EQ(DecodeHealthCheckResponse(std::string("\x12\x01x\x08\x03", 5))
                .value_or(-1),
            3);
}

TEST(HealthCheckWireTest, RefusesATruncatedMessage) {
  EXPECT_EQ(DecodeHealthCheckResponse(std::string("\x08", 1)).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(DecodeHealthCheckResponse("\x12\x05x").status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace corosched::internal
