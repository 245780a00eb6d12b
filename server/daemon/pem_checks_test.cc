#include "server/daemon/pem_checks.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_certificates.h"

namespace corosched::server {
namespace {

using ::corosched::testing::CertifiedKey;
using ::corosched::testing::TestCa;
using ::corosched::testing::WriteFileAtomically;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class PemChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("pem_checks_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    EXPECT_TRUE(WriteFileAtomically(path, text).ok());
    return path;
  }

  TlsFiles Files(const CertifiedKey& pair, const std::string& ca_pem = "") {
    TlsFiles files{.cert_file = Write("cert.pem", pair.cert_pem),
                   .key_file = Write("key.pem", pair.key_pem)};
    if (!ca_pem.empty()) files.ca_file = Write("ca.pem", ca_pem);
    return files;
  }

  std::filesystem::path dir_;
  const TestCa ca_ = TestCa::Create("pem-checks-ca");
};

TEST_F(PemChecks, AMatchingPairAndACaPassWithoutWarnings) {
  const auto warnings = CheckTlsFiles(
      Files(ca_.Issue({.common_name = "server"}), ca_.cert_pem()), absl::Now());
  ASSERT_TRUE(warnings.ok()) << warnings.status();
  EXPECT_THAT(*warnings, IsEmpty());
}

TEST_F(PemChecks, AMissingFileIsNamedWithItsFlag) {
  TlsFiles files = Files(ca_.Issue({.common_name = "server"}));
  files.cert_file = (dir_ / "absent.pem").string();
  const auto checked = CheckTlsFiles(files, absl::Now());
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(checked.status().message(),
              HasSubstr("--tls-cert " + files.cert_file + ": cannot read"));
}

TEST_F(PemChecks, AFileWithoutPemIsRefused) {
  TlsFiles files = Files(ca_.Issue({.common_name = "server"}));
  files.key_file = Write("garbage.pem", "not a key\n");
  const auto bad_key = CheckTlsFiles(files, absl::Now());
  EXPECT_THAT(bad_key.status().message(),
              HasSubstr("--tls-key " + files.key_file +
                        ": holds no unencrypted PEM private key"));

  files = Files(ca_.Issue({.common_name = "server"}), "garbage");
  const auto bad_ca = CheckTlsFiles(files, absl::Now());
  EXPECT_THAT(bad_ca.status().message(),
              HasSubstr("--tls-client-ca " + files.ca_file +
                        ": holds no PEM certificate"));
}

TEST_F(PemChecks, AKeyOfAnotherCertificateIsRefused) {
  TlsFiles files = Files(ca_.Issue({.common_name = "server"}));
  files.key_file = Write("other.pem", ca_.Issue({.common_name = "x"}).key_pem);
  const auto checked = CheckTlsFiles(files, absl::Now());
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(checked.status().message(),
              HasSubstr("is not the private key of the certificate in "
                        "--tls-cert"));
}

TEST_F(PemChecks, AnExpiredCertificateIsAWarning) {
  TlsFiles files = Files(ca_.Issue({.common_name = "old",
                                    .not_before = -absl::Hours(48),
                                    .not_after = -absl::Hours(24)}));
  files.cert_flag = "--metrics-tls-cert";
  const auto warnings = CheckTlsFiles(files, absl::Now());
  ASSERT_TRUE(warnings.ok()) << warnings.status();
  ASSERT_THAT(*warnings, SizeIs(1));
  EXPECT_THAT((*warnings)[0], HasSubstr("--metrics-tls-cert"));
  EXPECT_THAT((*warnings)[0], HasSubstr("the certificate expired on"));
}

}  // namespace
}  // namespace corosched::server
