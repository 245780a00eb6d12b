// The CLI, the Client and the Worker against a real daemon serving TLS with
// a tokens file: certificates and tokens made with the openssl command in
// the test. Hello over TLS, a wake, a worker's item (library and CLI), and
// the refusals a user sees: a wrong or missing token, a role not granted,
// another namespace's task, plaintext to the TLS port.

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/client.h"
#include "client/definition_json.h"
#include "client/worker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cli_process.h"
#include "tests/client/credentials.h"
#include "tests/testing/server_process.h"

#ifndef COROSCHED_CLI_PATH
#error "COROSCHED_CLI_PATH must name the corosched binary"
#endif
#ifndef COROSCHED_EXAMPLES_DIR
#error "COROSCHED_EXAMPLES_DIR must name examples/"
#endif

namespace corosched::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Example(const std::string& name) {
  return absl::StrCat(COROSCHED_EXAMPLES_DIR, "/", name);
}

// Made by SetUpTestSuite, deleted by TearDownTestSuite.
CredentialedDaemon* suite = nullptr;

class SecureE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite = CredentialedDaemon::Start("secure_e2e", [](const CredentialedDaemon&
                                                           d) {
              return std::vector<std::string>{
                  "--tls-cert",    d.File("server.pem"),
                  "--tls-key",     d.File("server.key"),
                  "--auth-tokens", d.File("tokens.json")};
            }).release();
  }
  static void TearDownTestSuite() {
    delete suite;
    suite = nullptr;
  }
  void SetUp() override { ASSERT_NE(suite, nullptr); }

  static std::string File(const std::string& name) { return suite->File(name); }

  // `corosched --addr <daemon> --tls-ca ca.pem args...`.
  static std::vector<std::string> Tls(const std::vector<std::string>& args) {
    std::vector<std::string> full = {"--addr", suite->daemon().address(),
                                     "--tls-ca", File("ca.pem")};
    full.insert(full.end(), args.begin(), args.end());
    return full;
  }
  // ... and --token-file TOKEN --namespace NS.
  static CliResult As(const std::string& token, const std::string& ns,
                      const std::vector<std::string>& args) {
    std::vector<std::string> full =
        Tls({"--token-file", File(token), "--namespace", ns});
    full.insert(full.end(), args.begin(), args.end());
    return RunCli(COROSCHED_CLI_PATH, full);
  }
  // A task id from `submit` in namespace `ns` with `token`.
  static std::string Submit(const std::string& token, const std::string& ns,
                            const std::vector<std::string>& args) {
    std::vector<std::string> submit = {"submit"};
    submit.insert(submit.end(), args.begin(), args.end());
    CliResult result = As(token, ns, submit);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return std::string(absl::StripAsciiWhitespace(result.out));
  }

  static ClientOptions Library(const char* token, const std::string& ns) {
    return ClientOptions{.address = suite->daemon().address(),
                         .tls = {.ca_file = File("ca.pem")},
                         .token = token,
                         .namespace_name = ns};
  }
};

TEST_F(SecureE2eTest, CliSubmitsHelloAndWaitsOverTlsWithAToken) {
  CliResult result =
      As("a", "a", {"submit", "-f", Example("hello.json"), "--wait"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Hello, World!\n");
}

TEST_F(SecureE2eTest, CliWakesATaskInItsNamespace) {
  const std::string id = Submit(
      "a", "a", {"-f", Example("approval.json"), "--var", "item=invoice-7"});
  ASSERT_FALSE(id.empty());
  CliResult woken = As("a", "a", {"wake", id, "approve"});
  EXPECT_EQ(woken.exit_code, 0) << woken.err;
  CliResult watched = As("a", "a", {"watch", id, "--timeout", "20s"});
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_THAT(watched.out, HasSubstr("invoice-7 approved"));
}

TEST_F(SecureE2eTest, AWrongOrMissingTokenIsRefusedWithAClearMessage) {
  CliResult wrong = RunCli(COROSCHED_CLI_PATH,
                           Tls({"--token", "not-a-known-token-5150", "stats"}));
  EXPECT_EQ(wrong.exit_code, 5) << wrong.err;
  EXPECT_THAT(wrong.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(wrong.err, HasSubstr("did not accept the token"));
  EXPECT_THAT(wrong.err + wrong.out, Not(HasSubstr("not-a-known-token-5150")));

  CliResult none = RunCli(COROSCHED_CLI_PATH, Tls({"stats"}));
  EXPECT_EQ(none.exit_code, 5) << none.err;
  EXPECT_THAT(none.err, HasSubstr("wants credentials"));
}

TEST_F(SecureE2eTest, ARoleNotGrantedIsPermissionDenied) {
  CliResult submit = As("reader", "a", {"submit", "-f", Example("hello.json")});
  EXPECT_EQ(submit.exit_code, 5) << submit.err;
  EXPECT_THAT(submit.err, HasSubstr("PERMISSION_DENIED"));
  // A token of namespace a asking to act in b.
  CliResult elsewhere = As("a", "b", {"stats"});
  EXPECT_EQ(elsewhere.exit_code, 5) << elsewhere.err;
  EXPECT_THAT(elsewhere.err, HasSubstr("namespace \"b\""));
}

TEST_F(SecureE2eTest, TheNamespaceFlagIsolatesTasks) {
  const std::string id = Submit("a", "a",
                                {"-f", Example("approval.json"), "--var",
                                 "item=isolated", "--label", "e2e=isolation"});
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(As("a", "a", {"get", id}).exit_code, 0);
  EXPECT_EQ(As("reader", "a", {"get", id}).exit_code, 0);
  // In namespace b the task does not exist: not found, not denied.
  CliResult get = As("b", "b", {"get", id});
  EXPECT_EQ(get.exit_code, 4) << get.err;
  EXPECT_EQ(As("b", "b", {"wake", id, "approve"}).exit_code, 4);
  EXPECT_EQ(As("b", "b", {"cancel", id}).exit_code, 4);
  CliResult listed = As("b", "b", {"list", "--label", "e2e=isolation"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, Not(HasSubstr(id)));
  EXPECT_EQ(As("a", "a", {"cancel", id}).exit_code, 0);
}

TEST_F(SecureE2eTest, PlaintextCannotTalkToTheTlsPort) {
  CliResult plain = RunCli(COROSCHED_CLI_PATH,
                           {"--addr", suite->daemon().address(), "--token-file",
                            File("a"), "stats", "--timeout", "3s"});
  EXPECT_EQ(plain.exit_code, 3) << plain.err;
}

TEST_F(SecureE2eTest, LibraryWorkerRunsAnItemForTheLibraryClient) {
  Worker worker(Library(kTokenA, "a"));
  ASSERT_TRUE(
      worker
          .Handle("jobs", 1,
                  [](WorkContext&) -> absl::StatusOr<google::protobuf::Value> {
                    google::protobuf::Value result;
                    (*result.mutable_struct_value()->mutable_fields())["output"]
                        .set_string_value("from the library");
                    return result;
                  })
          .ok());
  ASSERT_TRUE(worker.Start().ok());
  Client client(Library(kTokenA, "a"));
  absl::StatusOr<v1::TaskDefinition> definition =
      LoadTaskDefinitionFile(Example("worker-callback.json"));
  ASSERT_TRUE(definition.ok()) << definition.status();
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = *definition;
  (*request.mutable_inputs())["job"].set_string("lib-1");
  absl::StatusOr<TaskOutcome> done =
      client.SubmitAndWait(request, {.timeout = absl::Seconds(30)});
  worker.Stop();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->task.status(), v1::TASK_STATUS_COMPLETED);
  EXPECT_THAT(done->output, HasSubstr("job lib-1 done"));
  EXPECT_EQ(worker.counters().completed, 1u);
}

TEST_F(SecureE2eTest, CliWorkerRunsAnItem) {
  std::vector<std::string> args =
      Tls({"--token-file", File("a"), "--namespace", "a", "worker", "--queue",
           "jobs", "--", "sh", "-c", R"(echo '{"output": "from the cli"}')"});
  absl::StatusOr<std::unique_ptr<CliProcess>> worker =
      CliProcess::Start(COROSCHED_CLI_PATH, args);
  ASSERT_TRUE(worker.ok()) << worker.status();
  CliResult done = As("a", "a",
                      {"submit", "-f", Example("worker-callback.json"), "--var",
                       "job=cli-1", "--wait", "--timeout", "30s"});
  (*worker)->Signal(SIGTERM);
  CliResult stopped = (*worker)->Wait(absl::Seconds(30));
  EXPECT_EQ(done.exit_code, 0) << done.err << "\nworker:\n" << stopped.err;
  EXPECT_THAT(done.out, HasSubstr("job cli-1 done"));
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("in namespace a"));
}

}  // namespace
}  // namespace corosched::testing
