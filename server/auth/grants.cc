#include "server/auth/grants.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/machine/names.h"
#include "core/quote.h"

namespace corosched::server {
namespace {

constexpr Role kRoles[] = {Role::kRead, Role::kSubmit, Role::kWake, Role::kWork,
                           Role::kAdmin};

uint32_t Bit(Role role) { return uint32_t{1} << static_cast<uint32_t>(role); }

}  // namespace

absl::StatusOr<Role> RoleFromName(absl::string_view name) {
  for (Role role : kRoles) {
    if (RoleName(role) == name) return role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role ", QuoteInput(name),
                   "; roles are read, submit, wake, work and admin"));
}

Grants Grants::AdminEverywhere(std::string principal) {
  Grants grants;
  grants.principal_ = std::move(principal);
  grants.all_namespaces_ = true;
  grants.role_bits_ = Bit(Role::kAdmin);
  return grants;
}

bool Grants::Allows(absl::string_view namespace_name, Role role) const {
  if ((role_bits_ & (Bit(role) | Bit(Role::kAdmin))) == 0) return false;
  if (all_namespaces_) return true;
  return std::find(namespaces_.begin(), namespaces_.end(), namespace_name) !=
         namespaces_.end();
}

absl::StatusOr<Grants> MakeGrants(std::string principal,
                                  const std::vector<std::string>& namespaces,
                                  const std::vector<std::string>& roles) {
  if (namespaces.empty()) {
    return absl::InvalidArgumentError(
        "no namespaces; list the namespaces it acts in, or [\"*\"] for all");
  }
  if (roles.empty()) {
    return absl::InvalidArgumentError(
        "no roles; list some of read, submit, wake, work and admin");
  }
  Grants grants;
  grants.principal_ = std::move(principal);
  for (const std::string& name : namespaces) {
    if (name == kAllNamespaces) {
      grants.all_namespaces_ = true;
    } else if (name.size() > kMaxNamespaceBytes ||
               !machine::IsValidName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "namespace ", QuoteInput(name), " is not a namespace name (1 to ",
          kMaxNamespaceBytes, " of letters, digits, '_', '-' and '.') or *"));
    } else {
      grants.namespaces_.push_back(name);
    }
  }
  for (const std::string& name : roles) {
    absl::StatusOr<Role> role = RoleFromName(name);
    if (!role.ok()) return role.status();
    grants.role_bits_ |= Bit(*role);
  }
  return grants;
}

}  // namespace corosched::server
