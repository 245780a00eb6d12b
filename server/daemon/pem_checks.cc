#include "server/daemon/pem_checks.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "net/openssl_handles.h"

namespace corosched::server {
namespace {

// OpenSSL's reason for the last failure, and clears its error queue.
std::string OpenSslReason() {
  const unsigned long error = ERR_peek_last_error();  // NOLINT(runtime/int)
  std::string reason =
      error == 0 ? "no PEM block found" : ERR_reason_error_string(error);
  ERR_clear_error();
  return reason;
}

absl::Status Refuse(absl::string_view flag, absl::string_view file,
                    absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(flag, " ", file, ": ", what));
}

absl::StatusOr<Bio> Open(absl::string_view flag, const std::string& file) {
  Bio bio(BIO_new_file(file.c_str(), "r"));
  if (bio == nullptr) {
    ERR_clear_error();
    return Refuse(flag, file, "cannot read the file (missing? permissions?)");
  }
  return bio;
}

absl::StatusOr<Cert> ReadCertificate(absl::string_view flag,
                                     const std::string& file) {
  absl::StatusOr<Bio> bio = Open(flag, file);
  if (!bio.ok()) return bio.status();
  Cert cert(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return Refuse(
        flag, file,
        absl::StrCat("holds no PEM certificate (", OpenSslReason(), ")"));
  }
  return cert;
}

std::string FormatAsn1Time(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return "an unreadable date";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromTM(tm, absl::UTCTimeZone()),
                          absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CheckTlsFiles(const TlsFiles& files,
                                                       absl::Time now) {
  std::vector<std::string> warnings;
  absl::StatusOr<Cert> cert = ReadCertificate(files.cert_flag, files.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<Bio> key_bio = Open(files.key_flag, files.key_file);
  if (!key_bio.ok()) return key_bio.status();
  Pkey key(PEM_read_bio_PrivateKey(key_bio->get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return Refuse(files.key_flag, files.key_file,
                  absl::StrCat("holds no unencrypted PEM private key (",
                               OpenSslReason(), ")"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return Refuse(files.key_flag, files.key_file,
                  absl::StrCat("is not the private key of the certificate in ",
                               files.cert_flag, " ", files.cert_file));
  }
  std::time_t at = absl::ToTimeT(now);
  if (X509_cmp_time(X509_get0_notAfter(cert->get()), &at) < 0) {
    warnings.push_back(absl::StrCat(
        files.cert_flag, " ", files.cert_file, ": the certificate expired on ",
        FormatAsn1Time(X509_get0_notAfter(cert->get())),
        "; clients will refuse it until it is renewed"));
  }
  if (X509_cmp_time(X509_get0_notBefore(cert->get()), &at) > 0) {
    warnings.push_back(
        absl::StrCat(files.cert_flag, " ", files.cert_file,
                     ": the certificate is not valid before ",
                     FormatAsn1Time(X509_get0_notBefore(cert->get())),
                     "; clients will refuse it until then"));
  }
  if (!files.ca_file.empty()) {
    absl::StatusOr<Cert> ca = ReadCertificate(files.ca_flag, files.ca_file);
    if (!ca.ok()) return ca.status();
  }
  return warnings;
}

}  // namespace corosched::server
