// Client certificates as identities end to end: with --tls-client-ca alone
// a verified certificate is admin everywhere; with --auth-tokens its
// `certificates` entry (by common name) grants it roles, and a certificate
// without one must bring a token. docs/security.md describes the rules.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "corosched/v1/scheduler.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/testing/tokens_json.h"
#include "tests/server/e2e_support.h"
#include "tests/server/tls_support.h"

namespace corosched::e2e {
namespace {

using server::testing::CertificateJson;
using server::testing::TokenJson;
using server::testing::TokensJson;
using testing::ServerProcess;

class AuthMtlsTest : public ::testing::Test {
 protected:
  // A daemon serving mTLS with the directory's certificates, then `args`.
  std::unique_ptr<ServerProcess> Start(std::vector<std::string> args = {}) {
    std::vector<std::string> all = {
        "--durability",    "none",
        "--tls-cert",      certs_.Path("server.pem"),
        "--tls-key",       certs_.Path("server.key"),
        "--tls-client-ca", certs_.Path("ca.pem")};
    all.insert(all.end(), args.begin(), args.end());
    auto server = ServerProcess::Start({.args = all});
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    stub_ = v1::Scheduler::NewStub(TlsChannel(
        (*server)->address(), certs_.ca().cert_pem(), certs_.client()));
    return *std::move(server);
  }

  // Starts with a tokens file of `tokens` and `certificates` entries.
  std::unique_ptr<ServerProcess> StartWithTokens(
      const std::vector<std::string>& tokens,
      const std::vector<std::string>& certificates) {
    const std::string path = certs_.Path("tokens.json");
    std::ofstream(path) << TokensJson(tokens, certificates);
    return Start({"--auth-tokens", path});
  }

  // ListTasks in `namespace_name` over the client certificate (CN
  // worker-1), with `token` when not empty.
  grpc::StatusCode List(const std::string& namespace_name,
                        const std::string& token = "") {
    std::unique_ptr<grpc::ClientContext> context = Deadline();
    context->AddMetadata("corosched-namespace", namespace_name);
    if (!token.empty()) {
      context->AddMetadata("authorization", "Bearer " + token);
    }
    v1::ListTasksResponse response;
    return stub_->ListTasks(context.get(), v1::ListTasksRequest(), &response)
        .error_code();
  }

  grpc::StatusCode Submit(const std::string& namespace_name) {
    std::unique_ptr<grpc::ClientContext> context = Deadline();
    context->AddMetadata("corosched-namespace", namespace_name);
    v1::SubmitTaskRequest request;
    *request.mutable_definition() = AwaitGo();
    v1::SubmitTaskResponse response;
    return stub_->SubmitTask(context.get(), request, &response).error_code();
  }

  CertificateDir certs_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

TEST_F(AuthMtlsTest, TheCaAloneMakesAVerifiedCertificateAnAdmin) {
  auto server = Start();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(List("anywhere"), grpc::StatusCode::OK);
  EXPECT_EQ(Submit("anywhere"), grpc::StatusCode::OK);
}

TEST_F(AuthMtlsTest, ACertificateEntryGrantsItsRolesOnly) {
  auto server = StartWithTokens(
      {}, {CertificateJson("w1", "worker-1", {"jobs"}, {"read"})});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(List("jobs"), grpc::StatusCode::OK);
  EXPECT_EQ(List("other"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Submit("jobs"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(server->Stderr(),
              ::testing::HasSubstr("code=permission_denied role=submit "
                                   "namespace=jobs principal=w1"));
}

TEST_F(AuthMtlsTest, ACertificateWithoutAnEntryMustBringAToken) {
  auto server =
      StartWithTokens({TokenJson("ci", "ci-token-000001", {"jobs"}, {"read"})},
                      {CertificateJson("w2", "worker-2", {"jobs"}, {"read"})});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(List("jobs"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List("jobs", "ci-token-000001"), grpc::StatusCode::OK);
  EXPECT_EQ(List("jobs", "not-a-token"), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace corosched::e2e
