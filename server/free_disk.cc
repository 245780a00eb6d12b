#include "server/free_disk.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "server/byte_size.h"

namespace corosched::server {

absl::Status CheckFreeDisk(const std::string& dir, uint64_t min_free_bytes) {
  if (min_free_bytes == 0) return absl::OkStatus();
  struct statvfs disk = {};
  if (statvfs(dir.c_str(), &disk) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "data directory ", dir, ": cannot read the disk's free space: ",
        std::error_code(errno, std::generic_category()).message()));
  }
  const uint64_t free_bytes =
      static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize;
  if (free_bytes >= min_free_bytes) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "data directory ", dir, ": the disk has ", FormatByteSize(free_bytes),
      " free, less than the ", FormatByteSize(min_free_bytes),
      " --min-free-disk asks for; free some space (or lower --min-free-disk) "
      "and start again"));
}

}  // namespace corosched::server
