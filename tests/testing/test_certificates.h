#pragma once

// Certificates made in the test, with OpenSSL's C API: a CA that issues
// server and client certificates, valid or expired, as PEM text.
//
//   TestCa ca = TestCa::Create("test-ca");
//   CertifiedKey server = ca.Issue({.common_name = "corosched",
//                                   .subject_alt_names =
//                                       "IP:127.0.0.1,DNS:localhost"});
//   CertifiedKey expired = ca.Issue({.common_name = "old",
//                                    .not_before = -absl::Hours(48),
//                                    .not_after = -absl::Hours(24)});
//   WriteFileAtomically(dir + "/server.pem", server.cert_pem);
//
// Keys are ECDSA P-256 (fast to make); every certificate gets a new serial.

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace corosched::testing {

struct CertifiedKey {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted
};

struct CertificateSpec {
  std::string common_name;
  // OpenSSL's subjectAltName syntax; empty: none.
  std::string subject_alt_names;
  // Validity, from now (negative: in the past).
  absl::Duration not_before = -absl::Hours(1);
  absl::Duration not_after = absl::Hours(24);
};

class TestCa {
 public:
  // A self-signed CA certificate valid from an hour ago for ten years.
  // Aborts the test program if OpenSSL fails (it does not, short of memory).
  static TestCa Create(const std::string& common_name);

  // A leaf certificate (server and client use) signed by this CA.
  CertifiedKey Issue(const CertificateSpec& spec) const;

  const std::string& cert_pem() const { return self_.cert_pem; }

 private:
  explicit TestCa(CertifiedKey self) : self_(std::move(self)) {}
  CertifiedKey self_;
};

// Writes `text` to `path` through a temporary file renamed into place, so a
// reader (a file watcher) never sees it half-written.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& text);

}  // namespace corosched::testing
