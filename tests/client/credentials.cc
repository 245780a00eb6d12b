#include "tests/client/credentials.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace corosched::testing {

bool MakeCredentials(const std::string& dir) {
  const std::string script = absl::StrCat(
      "set -e; cd '", dir, "'\n",
      "key() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
      "-nodes -subj \"/CN=$2\" -keyout \"$1.key\" -out \"$1.csr\"; }\n",
      "ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
      "-nodes -days 2 -subj \"/CN=$2\" -keyout \"$1.key\" -out \"$1.pem\"; }\n",
      "sign() { openssl x509 -req -in \"$1.csr\" -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -days 2 -extfile \"$1.ext\" -out \"$1.pem\"; }\n",
      "ca ca 'e2e CA'; ca other-ca 'another CA'\n", "key server localhost\n",
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext\n",
      "sign server\n", "key client ", kClientCommonName, "\n",
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n", "sign client\n",
      "printf '%s\\n' '", kTokenA, "' > a\n", "printf '%s\\n' '", kTokenB,
      "' > b\n", "printf '%s\\n' '", kTokenReader, "' > reader\n",
      "h() { printf '%s' \"$1\" | sha256sum | cut -d' ' -f1; }\n",
      "all='\"read\", \"submit\", \"wake\", \"work\", \"admin\"'\n",
      "cat > tokens.json <<EOF\n", "{\"tokens\": [\n",
      " {\"name\": \"a\", \"sha256\": \"$(h ", kTokenA,
      ")\", \"namespaces\": [\"a\"], \"roles\": [$all]},\n",
      " {\"name\": \"b\", \"sha256\": \"$(h ", kTokenB,
      ")\", \"namespaces\": [\"b\"], \"roles\": [$all]},\n",
      " {\"name\": \"reader\", \"sha256\": \"$(h ", kTokenReader,
      ")\", \"namespaces\": [\"a\"], \"roles\": [\"read\"]}],\n",
      " \"certificates\": [{\"name\": \"worker\", \"common_name\": \"",
      kClientCommonName,
      "\", \"namespaces\": [\"a\"], \"roles\": [\"read\", \"submit\", "
      "\"work\"]}]}\n",
      "EOF\n");
  const std::string path = dir + "/make-credentials.sh";
  std::ofstream(path) << script;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): a suite's set-up, one thread
  return std::system(absl::StrCat("bash '", path, "' 2>/dev/null").c_str()) ==
         0;
}

std::unique_ptr<CredentialedDaemon> CredentialedDaemon::Start(
    const std::string& suite, const Args& args) {
  std::unique_ptr<CredentialedDaemon> credentials(new CredentialedDaemon(
      absl::StrCat(::testing::TempDir(), "/", suite, ".", getpid())));
  std::filesystem::remove_all(credentials->dir_);
  std::filesystem::create_directories(credentials->dir_);
  if (!MakeCredentials(credentials->dir_)) {
    ADD_FAILURE() << "openssl could not make the credentials in "
                  << credentials->dir_;
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<ServerProcess>> daemon =
      ServerProcess::Start({.args = args(*credentials)});
  if (!daemon.ok()) {
    ADD_FAILURE() << daemon.status();
    return nullptr;
  }
  credentials->daemon_ = *std::move(daemon);
  return credentials;
}

CredentialedDaemon::~CredentialedDaemon() {
  if (daemon_ != nullptr) {
    absl::StatusOr<int> code = daemon_->Stop();
    EXPECT_EQ(code.value_or(-1), 0) << daemon_->Stderr();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string CredentialedDaemon::File(const std::string& name) const {
  return absl::StrCat(dir_, "/", name);
}

}  // namespace corosched::testing
