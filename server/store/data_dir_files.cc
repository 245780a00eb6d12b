#include "server/store/data_dir_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace corosched::server {
namespace {

constexpr mode_t kOwnerOnly = S_IRUSR | S_IWUSR;       // 0600
constexpr mode_t kGroupAndOthers = S_IRWXG | S_IRWXO;  // 0077

// strerror, without its thread-unsafe buffer.
std::string ErrorText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string Octal(mode_t mode) { return absl::StrFormat("%04o", mode & 07777); }

}  // namespace

absl::StatusOr<std::vector<std::string>> RestrictDatabaseFiles(
    const std::string& path) {
  // O_CREAT's mode only applies to a file this call creates; umask can
  // only remove bits from it.
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kOwnerOnly);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create or open the database ", path, ": ", ErrorText(errno),
        "; check that the data directory is writable"));
  }
  close(fd);
  std::vector<std::string> tightened;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string file = path + suffix;
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // companions come and go
      return absl::UnavailableError(
          absl::StrCat("cannot inspect ", file, ": ", ErrorText(errno)));
    }
    if ((st.st_mode & kGroupAndOthers) == 0) continue;
    if (chmod(file.c_str(), kOwnerOnly) != 0) {
      return absl::UnavailableError(absl::StrCat(
          file, " is open to other users (mode ", Octal(st.st_mode),
          ") and cannot be made owner-only: ", ErrorText(errno)));
    }
    tightened.push_back(
        absl::StrCat(file, " was open to other users (mode ", Octal(st.st_mode),
                     "); it holds task inputs and outputs, so it is now ",
                     Octal(kOwnerOnly)));
  }
  return tightened;
}

// The directory is warned about, not changed: it is the operator's (it may
// be a mount point, or shared on purpose with a backup agent's group), and
// what matters is safe either way, since every file the store writes in it
// is owner-only. Others can at most list the file names.
std::string DataDirAccessWarning(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || (st.st_mode & kGroupAndOthers) == 0) {
    return "";
  }
  return absl::StrCat("the data directory ", dir,
                      " is open to other users (mode ", Octal(st.st_mode),
                      "); its files are owner-only, but to hide even their "
                      "names run: chmod 700 ",
                      dir);
}

}  // namespace corosched::server
