#include "client/connection.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace corosched {
namespace {

// The most a token may be: the daemon refuses longer ones
// (server/auth/credential_table.h), so a longer one is refused here, before
// any call.
constexpr size_t kMaxTokenBytes = 4096;

bool IsNameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

absl::Status ValidateToken(absl::string_view token) {
  if (token.size() > kMaxTokenBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token is ", token.size(), " bytes; the daemon takes ",
                     "at most ", kMaxTokenBytes));
  }
  for (size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    if (c <= ' ' || c > '~') {
      // Never the token itself, not even a part of it.
      return absl::InvalidArgumentError(absl::StrCat(
          "the token has a character not allowed in a request header at "
          "byte ",
          i + 1, " of ", token.size(),
          " (a token is printable ASCII without spaces; check the token "
          "file for stray characters)"));
    }
  }
  return absl::OkStatus();
}

// `path`'s PEM contents, checked to hold a block whose type line ends with
// `block` ("CERTIFICATE-----", "PRIVATE KEY-----").
absl::StatusOr<std::string> ReadPem(absl::string_view what,
                                    const std::string& path,
                                    absl::string_view block) {
  absl::StatusOr<std::string> pem = ReadSmallFile(what, path);
  if (!pem.ok()) return pem.status();
  if (!absl::StrContains(*pem, "-----BEGIN ") ||
      !absl::StrContains(*pem, block)) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " ", path, " holds no PEM \"", block,
                     "\" block; expected a PEM file as openssl writes it"));
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentials(
    const TlsFiles& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a TLS client certificate needs its key and the key its certificate "
        "(give both --tls-cert and --tls-key, or neither)");
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca =
      ReadPem("the TLS CA file", tls.ca_file, "CERTIFICATE-----");
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *std::move(ca);
  if (!tls.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPem(
        "the TLS client certificate file", tls.cert_file, "CERTIFICATE-----");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key =
        ReadPem("the TLS client key file", tls.key_file, "PRIVATE KEY-----");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

absl::Status ValidateNamespaceName(absl::string_view name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("the namespace must be 1 to 64 characters; \"", name,
                     "\" is ", name.size()));
  }
  for (char c : name) {
    if (!IsNameCharacter(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the namespace \"", name,
                       "\" may hold only letters, digits, '_', '-' and '.'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CallHeaders> CallHeaders::FromOptions(
    const ClientOptions& options) {
  CallHeaders headers;
  if (!options.namespace_name.empty()) {
    if (absl::Status valid = ValidateNamespaceName(options.namespace_name);
        !valid.ok()) {
      return valid;
    }
    headers.namespace_name_ = options.namespace_name;
  }
  if (!options.token.empty()) {
    if (absl::Status valid = ValidateToken(options.token); !valid.ok()) {
      return valid;
    }
    headers.authorization_ = absl::StrCat("Bearer ", options.token);
  }
  return headers;
}

void CallHeaders::AddTo(grpc::ClientContext* context) const {
  if (!authorization_.empty()) {
    context->AddMetadata(std::string(kAuthorizationHeader), authorization_);
  }
  if (!namespace_name_.empty()) {
    context->AddMetadata(std::string(kNamespaceHeader), namespace_name_);
  }
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(
    const ClientOptions& options, grpc::ChannelArguments arguments) {
  arguments.SetMaxReceiveMessageSize(options.max_message_bytes);
  arguments.SetMaxSendMessageSize(options.max_message_bytes);
  const TlsFiles& tls = options.tls;
  if (tls.ca_file.empty()) {
    if (!tls.cert_file.empty() || !tls.key_file.empty() ||
        !tls.server_name.empty()) {
      return absl::InvalidArgumentError(
          "a TLS client certificate, key or server name needs the CA that "
          "verifies the daemon (--tls-ca FILE): TLS is on only with a CA");
    }
    return grpc::CreateCustomChannel(options.address,
                                     options.credentials != nullptr
                                         ? options.credentials
                                         : grpc::InsecureChannelCredentials(),
                                     arguments);
  }
  if (options.credentials != nullptr) {
    return absl::InvalidArgumentError(
        "give TLS files or ready-made credentials, not both");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      TlsCredentials(tls);
  if (!credentials.ok()) return credentials.status();
  if (!tls.server_name.empty()) {
    arguments.SetSslTargetNameOverride(tls.server_name);
  }
  return grpc::CreateCustomChannel(options.address, *credentials, arguments);
}

absl::StatusOr<std::string> ReadSmallFile(absl::string_view what,
                                          const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", what, " ", path,
                     ": it does not exist or is not readable"));
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", what, " ", path, ": read error"));
  }
  return contents.str();
}

}  // namespace corosched
