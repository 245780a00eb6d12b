#pragma once

// Helpers for the daemon's TLS end-to-end tests: a directory of
// certificates made in the test, TLS channels, one call to tell whether a
// connection was accepted, and curl for /metrics.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "tests/testing/test_certificates.h"

namespace corosched::e2e {

// A temporary directory (removed at destruction) with two unrelated CAs and
// certificates from them, written as PEM files:
//   ca.pem            the CA the daemon's certificates come from
//   server.pem/.key   issued by ca for 127.0.0.1 and localhost
//   client.pem/.key   a client certificate from ca (CN worker-1)
//   expired.pem/.key  a client certificate from ca, expired yesterday
//   foreign.pem/.key  a client certificate from the other CA
//   other-ca.pem      the other CA
class CertificateDir {
 public:
  CertificateDir();
  ~CertificateDir();
  CertificateDir(const CertificateDir&) = delete;
  CertificateDir& operator=(const CertificateDir&) = delete;

  // dir/name.
  std::string Path(const std::string& name) const;
  // Replaces server.pem and server.key by a pair the other CA issued (each
  // file renamed into place, the key first).
  void RenewServerFromOtherCa();

  const testing::TestCa& ca() const { return ca_; }
  const testing::TestCa& other_ca() const { return other_ca_; }
  const testing::CertifiedKey& client() const { return client_; }
  const testing::CertifiedKey& expired() const { return expired_; }
  const testing::CertifiedKey& foreign() const { return foreign_; }

 private:
  void Write(const std::string& name, const std::string& text) const;

  std::string dir_;
  testing::TestCa ca_;
  testing::TestCa other_ca_;
  testing::CertifiedKey client_;
  testing::CertifiedKey expired_;
  testing::CertifiedKey foreign_;
};

// A channel to `address` over TLS trusting `root_pem`, presenting
// `client` when given; its own subchannels, so no connection is shared
// with another channel.
std::shared_ptr<grpc::Channel> TlsChannel(
    const std::string& address, const std::string& root_pem,
    const std::optional<testing::CertifiedKey>& client = std::nullopt);

// A health check on `channel` (5 s deadline; health never asks for
// credentials, so only the connection decides): OK when it answered
// SERVING; UNAVAILABLE when the handshake failed.
absl::Status Connect(const std::shared_ptr<grpc::Channel>& channel);

// The HTTP status curl got for `url` (0 when it could not connect or the
// TLS handshake failed); `curl_args` go before the URL.
int CurlStatus(const std::string& curl_args, const std::string& url);

}  // namespace corosched::e2e
