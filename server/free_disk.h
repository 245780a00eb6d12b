#pragma once

// The start-up check that the data directory's disk has room (see
// --min-free-disk in config.h and docs/service.md, "Startup").

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace corosched::server {

// OK when the file system holding `dir` has at least `min_free_bytes` free
// for an unprivileged writer (statvfs: f_bavail blocks of f_frsize), or
// when `min_free_bytes` is 0. Otherwise FAILED_PRECONDITION naming `dir`
// and both sizes:
//   data directory ./data: the disk has 12 KiB free, less than the 64 MiB
//   --min-free-disk asks for; free some space (or lower --min-free-disk)
//   and start again
// and UNAVAILABLE when statvfs itself fails.
absl::Status CheckFreeDisk(const std::string& dir, uint64_t min_free_bytes);

}  // namespace corosched::server
