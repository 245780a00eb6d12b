#include "server/auth/call_credentials.h"

#include "absl/strings/match.h"
#include "grpc/grpc_security_constants.h"
#include "server/auth/authorizer.h"

namespace corosched::server {
namespace {

constexpr absl::string_view kAuthorizationHeader = "authorization";

absl::Status MalformedAuthorization() {
  return absl::UnauthenticatedError(
      "authorization header: expected Bearer <token>");
}

absl::string_view View(const grpc::string_ref& ref) {
  return absl::string_view(ref.data(), ref.size());
}

}  // namespace

absl::StatusOr<std::string> ParseAuthorizationHeader(absl::string_view value) {
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(value, kScheme)) {
    return MalformedAuthorization();
  }
  absl::string_view token = value.substr(kScheme.size());
  for (char c : token) {
    if (c <= ' ' || c > '~') return MalformedAuthorization();
  }
  return std::string(token);
}

CallCredentials ReadCallCredentials(const grpc::ServerContextBase& context) {
  CallCredentials call;
  call.peer = context.peer();
  call.namespace_name = CallNamespace(context);
  const auto& metadata = context.client_metadata();
  auto [first, last] = metadata.equal_range(grpc::string_ref(
      kAuthorizationHeader.data(), kAuthorizationHeader.size()));
  if (first != last) {
    absl::StatusOr<std::string> token =
        std::next(first) == last ? ParseAuthorizationHeader(View(first->second))
                                 : MalformedAuthorization();
    if (token.ok()) {
      call.bearer = *std::move(token);
    } else {
      call.authorization_error = token.status();
    }
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const char* property :
         {GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
      for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
        call.certificate_identities.emplace_back(View(value));
      }
    }
  }
  return call;
}

}  // namespace corosched::server
