#pragma once

// What the authorizer tells the daemon's metrics (AuthMetrics): each
// denial by code and role, and each reload of the credential files.
//
// Thread-safety: implementations are called from gRPC's threads and the
// reload thread, concurrently.

#include "absl/status/status.h"
#include "server/auth/authorizer.h"

namespace corosched::server {

class AuthObserver {
 public:
  virtual ~AuthObserver() = default;
  // A call refused with `code` (UNAUTHENTICATED, PERMISSION_DENIED,
  // RESOURCE_EXHAUSTED or INVALID_ARGUMENT) while asking for `role`.
  virtual void OnDenied(absl::StatusCode code, Role role) = 0;
  // The tokens file or the JWT key changed and was read again: `ok` false
  // when the new contents were refused (the previous ones stay).
  virtual void OnCredentialsReloaded(bool ok) = 0;
};

}  // namespace corosched::server
