#pragma once

// Who may make which call, and in which namespace it acts.
//
// Every RPC handler asks its Authorizer first, naming the role the method
// needs (RoleFor below) and whether the call is a stream:
//
//   absl::StatusOr<CallScope> scope =
//       authorizer.Authorize(*context, Role::kSubmit, CallKind::kUnary);
//   if (!scope.ok()) { finish the call with scope.status(); }
//   ... act in scope->namespace_name only ...
//
// The namespace a call acts in is named by its `corosched-namespace` request
// header (kNamespaceHeader), `default` when absent. Credentials travel as
// `authorization: Bearer <token>` (a token from --auth-tokens, or a JWT) or
// as the client certificate of an mTLS connection.
//
// Answers: UNAUTHENTICATED for a call without valid credentials (none, a
// token nobody holds, a JWT with a bad signature or past its expiry);
// PERMISSION_DENIED when the credentials are valid but do not grant `role`
// in the call's namespace; RESOURCE_EXHAUSTED when the principal or the
// connection is past its request rate or its concurrent streams;
// INVALID_ARGUMENT for a malformed namespace header. Messages never echo a
// token.
//
// Thread-safety: Authorize is called from gRPC's threads, concurrently.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"

namespace corosched::server {

// What a grant allows in a namespace. kAdmin implies every other role.
enum class Role : uint8_t { kRead, kSubmit, kWake, kWork, kAdmin };

// "read", "submit", "wake", "work", "admin": the names the tokens file,
// JWT claims, logs and metric labels use.
absl::string_view RoleName(Role role);

// The role each method of corosched.v1.Scheduler needs, by its short name
// ("SubmitTask"); kAdmin for a name it does not know, so a method added
// without an entry here is closed to all but admins.
//   read:   GetDefinition ListDefinitions GetTask ListTasks WatchTask
//           GetQueueStats
//   submit: SubmitTask SubmitTasks CancelTask
//   wake:   WakeTask
//   work:   PollWork WorkStream CompleteWork FailWork HeartbeatWork
//   admin:  RegisterDefinition (what a name without a version runs is
//           decided by namespace admins only)
Role RoleFor(absl::string_view method);

enum class CallKind : uint8_t {
  kUnary,
  // Held open: counted against the principal's concurrent streams until the
  // CallScope (and its copies) is destroyed.
  kStream,
};

// The request header that names a call's namespace.
inline constexpr absl::string_view kNamespaceHeader = "corosched-namespace";
inline constexpr absl::string_view kDefaultNamespace = "default";
inline constexpr size_t kMaxNamespaceBytes = 64;

// A granted call.
struct CallScope {
  // Validated: 1 to kMaxNamespaceBytes of letters, digits, '_', '-', '.'.
  std::string namespace_name{kDefaultNamespace};
  // Who called, for logs and limits: the token's or certificate's name, the
  // JWT's subject; "anonymous" when the daemon runs without authentication.
  std::string principal = "anonymous";
  // For CallKind::kStream: the principal's stream slot, given back when the
  // last copy of this scope is destroyed. Null for unary calls.
  std::shared_ptr<const void> stream_slot;
};

// The namespace `context`'s request header names: kDefaultNamespace when
// absent, INVALID_ARGUMENT naming the header for a malformed one.
absl::StatusOr<std::string> CallNamespace(
    const grpc::ServerContextBase& context);

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual absl::StatusOr<CallScope> Authorize(
      const grpc::ServerContextBase& context, Role role, CallKind kind) = 0;
};

// The daemon without --auth-tokens or --jwt-key (loopback only, or
// --insecure): every call is granted, as "anonymous", in the namespace its
// header names.
class OpenAuthorizer final : public Authorizer {
 public:
  absl::StatusOr<CallScope> Authorize(const grpc::ServerContextBase& context,
                                      Role role, CallKind kind) override;
};

}  // namespace corosched::server
