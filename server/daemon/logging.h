#pragma once

// Daemon logs: spdlog to stderr, one line per event, key=value pairs:
//
//   ts=2024-05-01T10:00:00.123Z level=info event=ready address=127.0.0.1:43127
//
// Every line starts with ts= and level=; the message starts with event=.
// Values that contain spaces, quotes or '=' are written with LogValue, which
// quotes them, so the line stays machine-readable.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace corosched::server {

// Sends the default spdlog logger to stderr with the format above, at
// `level` (trace, debug, info, warn, error, off). Call once, before any
// thread logs.
void SetUpLogging(absl::string_view level);

// `value` as a key=value value: as it is when it has no space, quote, '=' or
// control character; otherwise in double quotes with \" \\ \n escaped.
std::string LogValue(absl::string_view value);

// code=... msg="..." for a failed status.
std::string LogStatus(const absl::Status& status);

}  // namespace corosched::server
