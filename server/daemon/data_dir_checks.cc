#include "server/daemon/data_dir_checks.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "server/daemon/byte_size.h"

namespace corosched::server {

absl::Status PrepareDataDir(const std::string& dir) {
  std::error_code error;
  const bool created = std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--data-dir ", dir, ": cannot create it: ", error.message()));
  }
  if (created) {  // still empty: nobody else can have opened anything in it
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, error);
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrCat("--data-dir ", dir,
                       ": cannot make it owner-only: ", error.message()));
    }
  }
  if (!std::filesystem::is_directory(dir, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--data-dir ", dir, ": not a directory"));
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--data-dir ", dir, ": not writable: ",
        std::error_code(errno, std::generic_category()).message()));
  }
  return absl::OkStatus();
}

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
