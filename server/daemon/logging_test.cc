#include "server/daemon/logging.h"

#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(LoggingTest, PlainValuesStayAsTheyAre) {
  EXPECT_EQ(LogValue("127.0.0.1:50051"), "127.0.0.1:50051");
}

TEST(LoggingTest, ValuesThatWouldBreakTheLineAreQuoted) {
  EXPECT_EQ(LogValue(""), "\"\"");
  EXPECT_EQ(LogValue("two words"), "\"two words\"");
  EXPECT_EQ(LogValue("a=b"), "\"a=b\"");
  EXPECT_EQ(LogValue("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
}

TEST(LoggingTest, StatusesGiveCodeAndMessage) {
  EXPECT_EQ(LogStatus(absl::NotFoundError("no task")),
            "code=NOT_FOUND msg=\"no task\"");
}

}  // namespace
}  // namespace corosched::server
