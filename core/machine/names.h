#pragma once

#include "absl/strings/string_view.h"

namespace corosched::machine {

// True for names of definitions, states, variables and signals: one or more
// of A-Z a-z 0-9 '_' '-' '.'. Lengths are checked against MachineLimits
// separately.
inline bool IsValidName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// What IsValidName accepts, for error messages.
inline constexpr absl::string_view kNameRule =
    "use only letters, digits, '_', '-' and '.'";

}  // namespace corosched::machine
