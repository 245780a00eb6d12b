#include "server/auth/credential_authorizer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "spdlog/spdlog.h"

namespace corosched::server {
namespace {

DenialLog::Sink SinkOrSpdlog(DenialLog::Sink sink) {
  if (sink) return sink;
  return [](const std::string& line) { spdlog::warn("{}", line); };
}

}  // namespace

CredentialAuthorizer::CredentialAuthorizer(
    std::unique_ptr<CredentialFiles> files, Options options)
    : files_(std::move(files)),
      options_(std::move(options)),
      principal_rate_(options_.principal_rate, *options_.clock),
      connection_rate_(options_.connection_rate, *options_.clock),
      streams_(options_.principal_max_streams),
      denials_(*options_.clock, SinkOrSpdlog(options_.denial_sink)) {}

absl::StatusOr<CallScope> CredentialAuthorizer::Authorize(
    const grpc::ServerContextBase& context, Role role, CallKind kind) {
  return Decide(ReadCallCredentials(context), role, kind);
}

absl::StatusOr<Grants> CredentialAuthorizer::Identify(
    const CallCredentials& call) const {
  if (!call.authorization_error.ok()) return call.authorization_error;
  std::shared_ptr<const CredentialTable> table =
      files_ == nullptr ? nullptr : files_->tokens();
  std::shared_ptr<const JwtVerifier> jwt =
      files_ == nullptr ? nullptr : files_->jwt();
  // Without a tokens file or a JWT key no token can be valid: a client
  // that sends one anyway is judged by its certificate.
  if (!call.bearer.empty() && (table != nullptr || jwt != nullptr)) {
    if (call.bearer.size() > kMaxTokenBytes) {
      return absl::UnauthenticatedError(absl::StrCat(
          "token too long (more than ", kMaxTokenBytes, " bytes)"));
    }
    if (jwt != nullptr && LooksLikeJwt(call.bearer)) {
      return jwt->Verify(call.bearer, options_.clock->Now());
    }
    const Grants* grants =
        table == nullptr ? nullptr : table->FindToken(call.bearer);
    if (grants == nullptr) {
      return absl::UnauthenticatedError(
          "the bearer token is not valid (unknown, or removed from "
          "--auth-tokens)");
    }
    return *grants;
  }
  if (options_.trust_client_certificates &&
      !call.certificate_identities.empty()) {
    if (table == nullptr && jwt == nullptr) {
      return Grants::AdminEverywhere(call.certificate_identities.front());
    }
    const Grants* grants =
        table == nullptr ? nullptr
                         : table->FindCertificate(call.certificate_identities);
    if (grants != nullptr) return *grants;
    return absl::UnauthenticatedError(absl::StrCat(
        "client certificate ", QuoteInput(call.certificate_identities.front()),
        " has no entry in the certificates of --auth-tokens; send a token "
        "(authorization: Bearer <token>) or add one"));
  }
  return absl::UnauthenticatedError(
      "no credentials: send authorization: Bearer <token> (a token or a "
      "JWT), or a client certificate");
}

absl::StatusOr<CallScope> CredentialAuthorizer::Decide(
    const CallCredentials& call, Role role, CallKind kind) {
  if (!connection_rate_.TryAcquire(call.peer)) {
    return Deny(absl::ResourceExhaustedError(absl::StrCat(
                    "this connection is past --connection-rate (",
                    options_.connection_rate, " requests/s); slow down")),
                role, call, "-");
  }
  absl::StatusOr<Grants> grants = Identify(call);
  if (!grants.ok()) return Deny(grants.status(), role, call, "-");
  const std::string& principal = grants->principal();
  if (!call.namespace_name.ok()) {
    return Deny(call.namespace_name.status(), role, call, principal);
  }
  const std::string& namespace_name = *call.namespace_name;
  if (!grants->Allows(namespace_name, role)) {
    return Deny(absl::PermissionDeniedError(absl::StrCat(
                    QuoteInput(principal), " has no ", RoleName(role),
                    " role in namespace ", QuoteInput(namespace_name))),
                role, call, principal);
  }
  if (!principal_rate_.TryAcquire(principal)) {
    return Deny(absl::ResourceExhaustedError(absl::StrCat(
                    QuoteInput(principal), " is past --principal-rate (",
                    options_.principal_rate, " requests/s); slow down")),
                role, call, principal);
  }
  CallScope scope;
  scope.namespace_name = namespace_name;
  scope.principal = principal;
  if (kind == CallKind::kStream) {
    scope.stream_slot = streams_.TryAcquire(principal);
    if (scope.stream_slot == nullptr) {
      return Deny(
          absl::ResourceExhaustedError(absl::StrCat(
              QuoteInput(principal), " holds ", options_.principal_max_streams,
              " open streams, the most --principal-max-streams "
              "allows; close some first")),
          role, call, principal);
    }
  }
  return scope;
}

absl::Status CredentialAuthorizer::Deny(absl::Status status, Role role,
                                        const CallCredentials& call,
                                        absl::string_view principal) {
  if (options_.observer != nullptr) {
    options_.observer->OnDenied(status.code(), role);
  }
  denials_.Record({
      .status = status,
      .role = role,
      .namespace_name = call.namespace_name.ok() ? *call.namespace_name : "-",
      .principal = std::string(principal),
      .peer = call.peer,
  });
  return status;
}

}  // namespace corosched::server
