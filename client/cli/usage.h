#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace corosched::cli {

// Usage text of `command` ("submit", "definitions get"; "" or an unknown
// name: the whole tool), ending in a newline, written from the command
// table (command_specs.h) that the parser reads. docs/cli.md says the same
// at length.
std::string UsageText(absl::string_view command);

}  // namespace corosched::cli
