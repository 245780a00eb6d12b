#pragma once

// The start-up checks of the data directory: it exists, owner-only when
// made here, writable, and its disk has room (see --data-dir and
// --min-free-disk in config.h and docs/service.md, "Startup").

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace corosched::server {

// Creates `dir` (and parents) if missing, `dir` itself with mode 0700 (its
// files hold task inputs and outputs), and checks it is a writable
// directory. An existing directory keeps its mode (the store warns when it
// is open to others; see store/data_dir_files.h). FAILED_PRECONDITION saying
// what is wrong otherwise.
absl::Status PrepareDataDir(const std::string& dir);

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
