#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace corosched {

// The most bytes of one piece of client input QuoteInput shows.
inline constexpr size_t kMaxQuotedInputBytes = 128;

// Client input (a task id, a name, a signal, a label, a token) ready to be
// echoed in an error message: in double quotes, with quotes, backslashes and
// non-printable bytes C-escaped (\", \\, \n, \x01), and cut after its first
// kMaxQuotedInputBytes bytes, with its full length said:
//
//   QuoteInput("job-7")            -> "job-7"
//   QuoteInput(<10240 bytes of x>) -> "xxx...x..." (10240 bytes)
//
// Every error message that echoes a client's text goes through it, so a
// message stays a few hundred bytes however large the input: a client's
// metadata limit (8 KiB by default) must not turn an error into another.
std::string QuoteInput(absl::string_view text);

}  // namespace corosched
