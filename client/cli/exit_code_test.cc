#include "client/cli/exit_code.h"

#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

TEST(ExitCodeForTest, MapsStatusesToTheDocumentedCodes) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), 3);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("")), 3);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("")), 3);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), 4);
  EXPECT_EQ(ExitCodeFor(absl::UnauthenticatedError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::CancelledError("")), 1);
}

TEST(ExitCodeForTaskTest, SucceedsOnlyForCompletedTasks) {
  EXPECT_EQ(ExitCodeForTask(v1::TASK_STATUS_COMPLETED), 0);
  EXPECT_EQ(ExitCodeForTask(v1::TASK_STATUS_FAILED), 1);
  EXPECT_EQ(ExitCodeForTask(v1::TASK_STATUS_CANCELLED), 1);
}

}  // namespace
}  // namespace corosched::cli
