#pragma once

// Owning handles for the OpenSSL objects our TLS code reads and makes
// (certificates, keys, memory BIOs), freed with OpenSSL's own functions.
// Header-only: a target that includes it links OpenSSL itself.
//
//   Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
//   Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace corosched {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

}  // namespace corosched
