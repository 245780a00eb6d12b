#include "server/auth/authorizer.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/machine/names.h"
#include "core/quote.h"

namespace corosched::server {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kSubmit:
      return "submit";
    case Role::kWake:
      return "wake";
    case Role::kWork:
      return "work";
    case Role::kAdmin:
      return "admin";
  }
  return "admin";
}

Role RoleFor(absl::string_view method) {
  static const auto* const kRoles =
      new absl::flat_hash_map<absl::string_view, Role>{
          {"RegisterDefinition", Role::kAdmin},
          {"GetDefinition", Role::kRead},
          {"ListDefinitions", Role::kRead},
          {"SubmitTask", Role::kSubmit},
          {"SubmitTasks", Role::kSubmit},
          {"WakeTask", Role::kWake},
          {"GetTask", Role::kRead},
          {"ListTasks", Role::kRead},
          {"WatchTask", Role::kRead},
          {"CancelTask", Role::kSubmit},
          {"GetQueueStats", Role::kRead},
          {"PollWork", Role::kWork},
          {"WorkStream", Role::kWork},
          {"CompleteWork", Role::kWork},
          {"FailWork", Role::kWork},
          {"HeartbeatWork", Role::kWork},
      };
  auto found = kRoles->find(method);
  return found == kRoles->end() ? Role::kAdmin : found->second;
}

absl::StatusOr<std::string> CallNamespace(
    const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto found = metadata.find(
      grpc::string_ref(kNamespaceHeader.data(), kNamespaceHeader.size()));
  if (found == metadata.end()) return std::string(kDefaultNamespace);
  const absl::string_view name(found->second.data(), found->second.size());
  if (name.size() > kMaxNamespaceBytes || !machine::IsValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kNamespaceHeader, " header: ", QuoteInput(name),
                     " is not a namespace; use 1 to ", kMaxNamespaceBytes,
                     " of letters, "
                     "digits, '_', '-' and '.'"));
  }
  return std::string(name);
}

absl::StatusOr<CallScope> OpenAuthorizer::Authorize(
    const grpc::ServerContextBase& context, Role /*role*/, CallKind /*kind*/) {
  absl::StatusOr<std::string> name = CallNamespace(context);
  if (!name.ok()) return name.status();
  CallScope scope;
  scope.namespace_name = *std::move(name);
  return scope;
}

}  // namespace corosched::server
