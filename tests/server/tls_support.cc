#include "tests/server/tls_support.h"

#include <stdlib.h>  // mkdtemp

#include <array>
#include <cstdio>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/health_probe.h"

namespace corosched::e2e {
namespace {

std::string MakeTempDir() {
  std::string dir =
      (std::filesystem::path(::testing::TempDir()) / "corosched-tls-XXXXXX")
          .string();
  if (mkdtemp(dir.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << dir;
  return dir;
}

}  // namespace

CertificateDir::CertificateDir()
    : dir_(MakeTempDir()),
      ca_(testing::TestCa::Create("corosched-test-ca")),
      other_ca_(testing::TestCa::Create("unrelated-ca")),
      client_(ca_.Issue({.common_name = "worker-1"})),
      expired_(ca_.Issue({.common_name = "worker-1",
                          .not_before = -absl::Hours(48),
                          .not_after = -absl::Hours(24)})),
      foreign_(other_ca_.Issue({.common_name = "worker-1"})) {
  const testing::CertifiedKey server =
      ca_.Issue({.common_name = "corosched-server",
                 .subject_alt_names = "IP:127.0.0.1,DNS:localhost"});
  Write("ca.pem", ca_.cert_pem());
  Write("other-ca.pem", other_ca_.cert_pem());
  Write("server.key", server.key_pem);
  Write("server.pem", server.cert_pem);
  for (const auto& [name, pair] : {std::pair{"client", &client_},
                                   {"expired", &expired_},
                                   {"foreign", &foreign_}}) {
    Write(absl::StrCat(name, ".key"), pair->key_pem);
    Write(absl::StrCat(name, ".pem"), pair->cert_pem);
  }
}

CertificateDir::~CertificateDir() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string CertificateDir::Path(const std::string& name) const {
  return absl::StrCat(dir_, "/", name);
}

void CertificateDir::Write(const std::string& name,
                           const std::string& text) const {
  const absl::Status written = testing::WriteFileAtomically(Path(name), text);
  EXPECT_TRUE(written.ok()) << written;
}

void CertificateDir::RenewServerFromOtherCa() {
  const testing::CertifiedKey renewed =
      other_ca_.Issue({.common_name = "corosched-server",
                       .subject_alt_names = "IP:127.0.0.1,DNS:localhost"});
  Write("server.key", renewed.key_pem);
  Write("server.pem", renewed.cert_pem);
}

std::shared_ptr<grpc::Channel> TlsChannel(
    const std::string& address, const std::string& root_pem,
    const std::optional<testing::CertifiedKey>& client) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = root_pem;
  if (client.has_value()) {
    options.pem_private_key = client->key_pem;
    options.pem_cert_chain = client->cert_pem;
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options),
                                   args);
}

absl::Status Connect(const std::shared_ptr<grpc::Channel>& channel) {
  absl::StatusOr<int> health = testing::CheckHealth(channel);
  if (!health.ok()) return health.status();
  if (*health != testing::kHealthServing) {
    return absl::InternalError(absl::StrCat("health answered ", *health));
  }
  return absl::OkStatus();
}

int CurlStatus(const std::string& curl_args, const std::string& url) {
  const std::string command =
      absl::StrCat("curl -s -o /dev/null -m 10 -w '%{http_code}' ", curl_args,
                   " '", url, "' 2>/dev/null");
  FILE* pipe = popen(command.c_str(), "r");  // NOLINT(cert-env33-c)
  if (pipe == nullptr) return -1;
  std::array<char, 64> buffer{};
  std::string out;
  while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) {
    out += buffer.data();
  }
  pclose(pipe);
  int code = -1;
  return absl::SimpleAtoi(out, &code) ? code : -1;
}

}  // namespace corosched::e2e
