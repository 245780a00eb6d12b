// Authentication end to end: a real daemon started with --auth-tokens,
// called with raw stubs. No token is UNAUTHENTICATED; a read token cannot
// submit; a token of namespace a does not see b's tasks; health needs no
// token; the tokens file is re-read without a restart; forged, oversized
// and malformed credentials are refused and the daemon keeps serving.
// docs/security.md describes the rules.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/testing/tokens_json.h"
#include "tests/server/e2e_support.h"
#include "tests/testing/health_probe.h"
#include "tests/testing/http_get.h"

namespace corosched::e2e {
namespace {

using server::testing::TokenJson;
using server::testing::TokensJson;
using ::testing::HasSubstr;

// The token of a principal holding `roles` in `namespaces`.
struct Holder {
  const char* name;
  const char* token;
  std::vector<std::string> namespaces;
  std::vector<std::string> roles;
};

const Holder kReader{"reader", "reader-secret-0001", {"a"}, {"read"}};
const Holder kAlice{"alice", "alice-secret-00001", {"a"}, {"read", "submit"}};
const Holder kBob{"bob", "bob-secret-0000001", {"b"}, {"admin"}};

std::string TokensFileFor(const std::vector<Holder>& holders) {
  std::vector<std::string> entries;
  entries.reserve(holders.size());
  for (const Holder& holder : holders) {
    entries.push_back(
        TokenJson(holder.name, holder.token, holder.namespaces, holder.roles));
  }
  return TokensJson(entries);
}

// A context with `authorization: Bearer token` (unless empty) and the
// namespace header.
std::unique_ptr<grpc::ClientContext> As(const std::string& token,
                                        const std::string& namespace_name) {
  std::unique_ptr<grpc::ClientContext> context = Deadline();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->AddMetadata("corosched-namespace", namespace_name);
  return context;
}

class AuthTest : public DaemonTest {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/auth_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    tokens_file_ = dir_ + "/tokens.json";
    WriteTokens({kReader, kAlice, kBob});
    DaemonTest::SetUp();
  }
  void TearDown() override {
    DaemonTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  std::vector<std::string> DaemonArgs() const override {
    return {"--durability=none", "--auth-tokens", tokens_file_,
            "--credentials-reload-interval", "1s"};
  }

  // Replaces the tokens file at once (write, then rename).
  void WriteTokens(const std::vector<Holder>& holders) const {
    std::ofstream(tokens_file_ + ".tmp", std::ios::trunc)
        << TokensFileFor(holders);
    std::filesystem::rename(tokens_file_ + ".tmp", tokens_file_);
  }

  grpc::StatusCode ListAs(const std::string& token,
                          const std::string& namespace_name = "a") {
    v1::ListTasksRequest request;
    v1::ListTasksResponse response;
    return stub_->ListTasks(As(token, namespace_name).get(), request, &response)
        .error_code();
  }

  grpc::Status SubmitAs(const std::string& token,
                        const std::string& namespace_name,
                        v1::Task* task = nullptr) {
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = AwaitGo();
    v1::SubmitTaskResponse response;
    grpc::Status status =
        stub_->SubmitTask(As(token, namespace_name).get(), request, &response);
    if (task != nullptr) *task = response.task();
    return status;
  }

  std::string dir_;
  std::string tokens_file_;
};

TEST_F(AuthTest, ACallWithoutATokenIsUnauthenticatedButHealthIsOpen) {
  grpc::Status status = SubmitAs("", "a");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("no credentials"));
  EXPECT_EQ(ListAs(""), grpc::StatusCode::UNAUTHENTICATED);
  absl::StatusOr<int> health = testing::CheckHealth(channel_);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, testing::kHealthServing);
}

TEST_F(AuthTest, AReadTokenReadsButCannotSubmit) {
  EXPECT_EQ(ListAs(kReader.token), grpc::StatusCode::OK);
  grpc::Status status = SubmitAs(kReader.token, "a");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("\"reader\" has no submit role in namespace \"a\""));
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr(kReader.token)));
  EXPECT_TRUE(SubmitAs(kAlice.token, "a").ok());
}

TEST_F(AuthTest, ATokenOfNamespaceADoesNotSeeTheTasksOfB) {
  v1::Task task;
  ASSERT_TRUE(SubmitAs(kBob.token, "b", &task).ok());
  // Asking in b: not granted there.
  EXPECT_EQ(SubmitAs(kAlice.token, "b").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetTaskRequest request;
  request.set_task_id(task.id());
  v1::Task got;
  EXPECT_EQ(
      stub_->GetTask(As(kAlice.token, "b").get(), request, &got).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // Asking in a: b's task is not there.
  EXPECT_EQ(
      stub_->GetTask(As(kAlice.token, "a").get(), request, &got).error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(
      stub_->GetTask(As(kBob.token, "b").get(), request, &got).error_code(),
      grpc::StatusCode::OK);
}

TEST_F(AuthTest, TheTokensFileIsReadAgainWithoutARestart) {
  const Holder carol{"carol", "carol-secret-00001", {"a"}, {"read"}};
  EXPECT_EQ(ListAs(carol.token), grpc::StatusCode::UNAUTHENTICATED);
  WriteTokens({kAlice, carol});  // adds carol, removes reader and bob
  EXPECT_TRUE(
      WaitFor([&] { return ListAs(carol.token) == grpc::StatusCode::OK; },
              absl::Seconds(15)));
  EXPECT_EQ(ListAs(kReader.token), grpc::StatusCode::UNAUTHENTICATED);
  // A broken file keeps the grants in force.
  std::ofstream(tokens_file_, std::ios::trunc) << "{\"tokens\": [";
  EXPECT_TRUE(WaitFor(
      [&] {
        return server_->Stderr().find("event=credentials_reload_failed") !=
               std::string::npos;
      },
      absl::Seconds(15)));
  EXPECT_EQ(ListAs(carol.token), grpc::StatusCode::OK);
}

TEST_F(AuthTest, ForgedOversizedAndMalformedCredentialsAreRefused) {
  std::string forged = kAlice.token;
  forged.back() = forged.back() == '1' ? '2' : '1';  // the right length
  const std::vector<std::string> refused = {
      forged, std::string(5000, 'x'), "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
      server::testing::HexSha256(kAlice.token)};
  for (const std::string& token : refused) {
    EXPECT_EQ(ListAs(token), grpc::StatusCode::UNAUTHENTICATED) << token;
  }
  for (const char* header : {"Basic YWxpY2U6c2VjcmV0", "Bearer", "bearer a b",
                             "alice-secret-00001"}) {
    std::unique_ptr<grpc::ClientContext> context = Deadline();
    context->AddMetadata("authorization", header);
    v1::ListTasksResponse response;
    grpc::Status status =
        stub_->ListTasks(context.get(), v1::ListTasksRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << header;
    EXPECT_THAT(status.error_message(),
                ::testing::Not(HasSubstr("alice-secret")));
  }
  // Still serving; refusals counted and logged without the token.
  EXPECT_EQ(ListAs(kAlice.token), grpc::StatusCode::OK);
  absl::StatusOr<testing::HttpResponse> metrics =
      testing::HttpGet(server_->metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(metrics->body,
              HasSubstr("corosched_auth_denials_total{code=\"unauthenticated\","
                        "role=\"read\"} 9"));
  EXPECT_THAT(server_->Stderr(),
              HasSubstr("event=auth_denied code=unauthenticated role=read"));
  EXPECT_THAT(server_->Stderr(), ::testing::Not(HasSubstr(forged)));
}

}  // namespace
}  // namespace corosched::e2e
