#pragma once

// Checks a TLS listener's PEM files before they are served, so a start with
// a wrong file fails with a message naming it (gRPC's file watcher and
// civetweb would otherwise fail later, quietly or vaguely).
//
//   absl::StatusOr<std::vector<std::string>> warnings = CheckTlsFiles(
//       {.cert_file = ..., .key_file = ..., .cert_flag = "--tls-cert", ...},
//       absl::Now());
//   if (!warnings.ok()) { refuse to start with warnings.status(); }
//   for (const std::string& warning : *warnings) { log it; }

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace corosched::server {

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  // Empty: no CA file to check.
  std::string ca_file;
  // The flags that named the files, for messages.
  absl::string_view cert_flag = "--tls-cert";
  absl::string_view key_flag = "--tls-key";
  absl::string_view ca_flag = "--tls-client-ca";
};

// FAILED_PRECONDITION, naming the flag and the file, when the certificate
// file cannot be read or holds no PEM certificate, the key file holds no
// (unencrypted) PEM private key, the key is not the certificate's, or the
// CA file holds no PEM certificate. Otherwise the warnings: the
// certificate is past its expiry or not yet valid at `now` (clients will
// refuse it, but a renewal may be on its way).
absl::StatusOr<std::vector<std::string>> CheckTlsFiles(const TlsFiles& files,
                                                       absl::Time now);

}  // namespace corosched::server
