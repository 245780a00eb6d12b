#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace corosched {

// Checks that `text` is one well-formed JSON value (RFC 8259), so that a
// syntax error can be reported by line and column: protobuf's JSON parser
// only shows the text around the error.
//
// OK, or INVALID_ARGUMENT whose message starts with the position, e.g.
//   line 3, column 17: expected ',' or '}' after an object member, found '"'
// Lines and columns count from 1; a column counts bytes. Nesting deeper
// than 256 levels is refused (protobuf's own limit is lower).
absl::Status CheckJsonSyntax(absl::string_view text);

}  // namespace corosched
