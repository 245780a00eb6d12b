// JWTs and per-principal limits end to end: a daemon started with
// --jwt-key (an HS256 secret) beside --auth-tokens, and
// --principal-max-streams 1. docs/security.md describes the rules.

#include <jwt.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/testing/tokens_json.h"
#include "tests/server/e2e_support.h"

namespace corosched::e2e {
namespace {

using ::testing::HasSubstr;

const std::string kSecret = "an-hs256-secret-of-more-than-32-bytes";
const std::string kAliceToken = "alice-secret-00001";

// A JWT signed with `alg` (HS256 with kSecret, or none) for `claims`.
std::string Sign(const std::string& claims, jwt_alg_t alg = JWT_ALG_HS256) {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grants_json(jwt, claims.c_str());
  if (alg == JWT_ALG_HS256) {
    jwt_set_alg(jwt, alg,
                reinterpret_cast<const unsigned char*>(kSecret.data()),
                static_cast<int>(kSecret.size()));
  } else {
    jwt_set_alg(jwt, alg, nullptr, 0);
  }
  char* text = jwt_encode_str(jwt);
  std::string token = text == nullptr ? "" : text;
  free(text);
  jwt_free(jwt);
  return token;
}

// Claims for principal `sub` expiring `expires_in` from now.
std::string Claims(absl::Duration expires_in,
                   const std::string& roles = R"(["read"])") {
  return absl::StrCat(R"({"sub": "svc", "exp": )",
                      absl::ToUnixSeconds(absl::Now() + expires_in),
                      R"(, "namespaces": ["a"], "roles": )", roles, "}");
}

std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
  std::unique_ptr<grpc::ClientContext> context = Deadline();
  context->AddMetadata("authorization", "Bearer " + token);
  context->AddMetadata("corosched-namespace", "a");
  return context;
}

class AuthJwtLimitsTest : public DaemonTest {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/auth_jwt_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    std::ofstream(dir_ + "/jwt.key") << kSecret << "\n";
    std::ofstream(dir_ + "/tokens.json")
        << server::testing::TokensJson({server::testing::TokenJson(
               "alice", kAliceToken, {"a"}, {"read", "submit"})});
    DaemonTest::SetUp();
  }
  void TearDown() override {
    DaemonTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  std::vector<std::string> DaemonArgs() const override {
    return {"--durability=none",
            "--auth-tokens",
            dir_ + "/tokens.json",
            "--jwt-key",
            dir_ + "/jwt.key",
            "--principal-max-streams",
            "1"};
  }

  grpc::StatusCode ListAs(const std::string& token) {
    v1::ListTasksResponse response;
    return stub_->ListTasks(As(token).get(), v1::ListTasksRequest(), &response)
        .error_code();
  }

  std::string dir_;
};

TEST_F(AuthJwtLimitsTest, AJwtGrantsItsClaimsUntilItExpires) {
  EXPECT_EQ(ListAs(Sign(Claims(absl::Minutes(5)))), grpc::StatusCode::OK);
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = AwaitGo();
  v1::SubmitTaskResponse response;
  EXPECT_EQ(stub_
                ->SubmitTask(As(Sign(Claims(absl::Minutes(5)))).get(), request,
                             &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ListAs(Sign(Claims(-absl::Minutes(5)))),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ListAs(Sign(Claims(absl::Minutes(5)), JWT_ALG_NONE)),
            grpc::StatusCode::UNAUTHENTICATED);
  // The opaque token still works beside JWTs.
  EXPECT_EQ(ListAs(kAliceToken), grpc::StatusCode::OK);
}

TEST_F(AuthJwtLimitsTest, AnOpenWatchHoldsThePrincipalsOnlyStream) {
  v1::SubmitTaskRequest submit;
  *submit.mutable_definition() = AwaitGo();
  v1::SubmitTaskResponse submitted;
  ASSERT_TRUE(
      stub_->SubmitTask(As(kAliceToken).get(), submit, &submitted).ok());
  v1::WatchTaskRequest watch;
  watch.set_task_id(submitted.task().id());

  std::unique_ptr<grpc::ClientContext> first_context = As(kAliceToken);
  auto first = stub_->WatchTask(first_context.get(), watch);
  v1::TaskEvent event;
  ASSERT_TRUE(first->Read(&event));  // open and served

  std::unique_ptr<grpc::ClientContext> second_context = As(kAliceToken);
  auto second = stub_->WatchTask(second_context.get(), watch);
  EXPECT_FALSE(second->Read(&event));
  grpc::Status refused = second->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--principal-max-streams"));
  // Unary calls are not streams.
  EXPECT_EQ(ListAs(kAliceToken), grpc::StatusCode::OK);

  first_context->TryCancel();
  first->Finish().IgnoreError();
  // Once the server has seen the cancel, the slot is back.
  EXPECT_TRUE(WaitFor([&] {
    std::unique_ptr<grpc::ClientContext> context = As(kAliceToken);
    auto again = stub_->WatchTask(context.get(), watch);
    v1::TaskEvent got;
    const bool served = again->Read(&got);
    context->TryCancel();
    again->Finish().IgnoreError();
    return served;
  }));
}

}  // namespace
}  // namespace corosched::e2e
