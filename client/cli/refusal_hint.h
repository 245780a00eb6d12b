#pragma once

#include <string>

#include "absl/status/status.h"
#include "client/cli/args.h"

namespace corosched::cli {

// What a person can do about a call the daemon refused or could not be
// reached for, given the flags the call was made with: lines for stderr,
// each starting "corosched: ", or "" when the status speaks for itself.
// UNAUTHENTICATED says which credential was not accepted (or that none
// was given), PERMISSION_DENIED names the namespace, UNAVAILABLE to
// connect names the address and the TLS flag to check. Never contains the
// token.
std::string RefusalHint(const absl::Status& status,
                        const GlobalOptions& globals);

}  // namespace corosched::cli
