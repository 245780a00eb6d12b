#pragma once

// What one credential allows: roles in namespaces. Tokens (--auth-tokens),
// JWT claims and certificate entries all become Grants.
//
//   absl::StatusOr<Grants> grants = MakeGrants("ci", {"a"}, {"read"});
//   if (grants->Allows("a", Role::kRead)) { ... }
//
// Thread-safety: immutable once made; share it freely.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/auth/authorizer.h"

namespace corosched::server {

// The wildcard namespace: every namespace, present and future.
inline constexpr absl::string_view kAllNamespaces = "*";

// "read" -> Role::kRead; INVALID_ARGUMENT listing the role names otherwise.
absl::StatusOr<Role> RoleFromName(absl::string_view name);

class Grants {
 public:
  // Admin in every namespace: a verified client certificate when the CA is
  // the only credential configured.
  static Grants AdminEverywhere(std::string principal);

  const std::string& principal() const { return principal_; }

  // True when `role` (or admin) is granted in `namespace_name`.
  bool Allows(absl::string_view namespace_name, Role role) const;

 private:
  friend absl::StatusOr<Grants> MakeGrants(
      std::string principal, const std::vector<std::string>& namespaces,
      const std::vector<std::string>& roles);

  std::string principal_;
  bool all_namespaces_ = false;
  std::vector<std::string> namespaces_;
  uint32_t role_bits_ = 0;  // bit (1 << Role) per granted role
};

// Checks and joins a credential's lists: at least one namespace (each a
// valid namespace name, or "*") and at least one role (each a RoleName).
// INVALID_ARGUMENT saying which value is wrong; the caller names the entry.
absl::StatusOr<Grants> MakeGrants(std::string principal,
                                  const std::vector<std::string>& namespaces,
                                  const std::vector<std::string>& roles);

}  // namespace corosched::server
