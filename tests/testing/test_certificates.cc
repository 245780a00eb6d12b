#include "tests/testing/test_certificates.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "net/openssl_handles.h"

namespace corosched::testing {
namespace {

// Test set-up cannot go on without its certificates.
void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "test certificates: %s failed: %s\n", what,
               ERR_reason_error_string(ERR_get_error()));
  std::abort();
}

std::string Pem(Cert& cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_X509(bio.get(), cert.get()) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT
  return std::string(data, static_cast<size_t>(size));
}

std::string Pem(Pkey& key) {
  Bio bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0,
                                 nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT
  return std::string(data, static_cast<size_t>(size));
}

Cert ParseCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  Check(cert != nullptr, "PEM_read_bio_X509");
  return cert;
}

Pkey ParseKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  Check(key != nullptr, "PEM_read_bio_PrivateKey");
  return key;
}

void AddExtension(X509* cert, X509V3_CTX* context, int nid,
                  const std::string& value) {
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, context, nid, value.c_str());
  Check(extension != nullptr, "X509V3_EXT_conf_nid");
  Check(X509_add_ext(cert, extension, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(extension);
}

// A certificate for `spec` with a new key, signed by `issuer` (itself when
// null).
CertifiedKey Make(const CertificateSpec& spec, bool ca, X509* issuer,
                  EVP_PKEY* issuer_key) {
  static std::atomic<long> serial{1};  // NOLINT(runtime/int)
  Pkey key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EVP_EC_gen");
  Cert cert(X509_new());
  Check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  Check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()),
                         serial.fetch_add(1)) == 1,
        "ASN1_INTEGER_set");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()),
                  absl::ToInt64Seconds(spec.not_before));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  absl::ToInt64Seconds(spec.not_after));
  Check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  Check(X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_ASC,
            reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
            -1, -1, 0) == 1,
        "X509_NAME_add_entry_by_txt");
  X509* signer = issuer == nullptr ? cert.get() : issuer;
  Check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1,
        "X509_set_issuer_name");
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, signer, cert.get(), nullptr, nullptr, 0);
  AddExtension(cert.get(), &context, NID_subject_key_identifier, "hash");
  if (ca) {
    AddExtension(cert.get(), &context, NID_basic_constraints,
                 "critical,CA:TRUE");
    AddExtension(cert.get(), &context, NID_key_usage,
                 "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), &context, NID_authority_key_identifier,
                 "keyid:always");
    AddExtension(cert.get(), &context, NID_basic_constraints, "CA:FALSE");
    AddExtension(cert.get(), &context, NID_key_usage,
                 "critical,digitalSignature");
    AddExtension(cert.get(), &context, NID_ext_key_usage,
                 "serverAuth,clientAuth");
    if (!spec.subject_alt_names.empty()) {
      AddExtension(cert.get(), &context, NID_subject_alt_name,
                   spec.subject_alt_names);
    }
  }
  Check(X509_sign(cert.get(), issuer_key == nullptr ? key.get() : issuer_key,
                  EVP_sha256()) > 0,
        "X509_sign");
  return {.cert_pem = Pem(cert), .key_pem = Pem(key)};
}

}  // namespace

TestCa TestCa::Create(const std::string& common_name) {
  return TestCa(
      Make({.common_name = common_name, .not_after = absl::Hours(24 * 3650)},
           /*ca=*/true, nullptr, nullptr));
}

CertifiedKey TestCa::Issue(const CertificateSpec& spec) const {
  Cert issuer = ParseCert(self_.cert_pem);
  Pkey issuer_key = ParseKey(self_.key_pem);
  return Make(spec, /*ca=*/false, issuer.get(), issuer_key.get());
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc | std::ios::binary);
    out << text;
    if (!out.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", temporary));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", temporary, ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace corosched::testing
