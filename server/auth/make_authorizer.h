#pragma once

// The daemon's Authorizer for its configuration:
//
//   absl::StatusOr<std::unique_ptr<Authorizer>> authorizer =
//       MakeAuthorizer(config, Clock::Real(), metrics.auth_observer());
//
// OpenAuthorizer when none of --auth-tokens, --jwt-key and --tls-client-ca
// is set; otherwise a CredentialAuthorizer whose files were read once (an
// unreadable or invalid file is an error naming its flag and path: the
// daemon does not start) and are then checked for changes every
// config.credentials_reload_interval, by a thread the authorizer owns.

#include <memory>

#include "absl/status/statusor.h"
#include "core/time/clock.h"
#include "server/auth/auth_observer.h"
#include "server/auth/authorizer.h"
#include "server/daemon/config.h"

namespace corosched::server {

// `observer` may be null; `clock` must outlive the authorizer.
absl::StatusOr<std::unique_ptr<Authorizer>> MakeAuthorizer(
    const ServerConfig& config, const Clock* clock, AuthObserver* observer);

}  // namespace corosched::server
