#pragma once

#include "absl/status/statusor.h"
#include "client/cli/args.h"
#include "client/connection.h"

namespace corosched::cli {

// The ClientOptions every command (and `worker`) connects with: the
// address, timeout, TLS files, namespace, and the token from --token or
// read from --token-file now (surrounding whitespace and the final newline
// dropped). FAILED_PRECONDITION naming the file when the token file cannot
// be read or is empty; the token itself is never in a message.
absl::StatusOr<ClientOptions> ConnectionOptions(const GlobalOptions& globals);

}  // namespace corosched::cli
