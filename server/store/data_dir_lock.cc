#include "server/store/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace corosched::server {
namespace {

// strerror, without its thread-unsafe buffer.
std::string ErrorText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// The pid the holder wrote into the lock file, or "" if there is none.
std::string ReadHolderPid(int fd) {
  char buffer[32] = {};
  ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (n <= 0) return "";
  absl::string_view text =
      absl::StripAsciiWhitespace(absl::string_view(buffer, n));
  int pid = 0;
  if (!absl::SimpleAtoi(text, &pid) || pid <= 0) return "";
  return absl::StrCat(pid);
}

void WriteOwnPid(int fd) {
  std::string pid = absl::StrCat(getpid(), "\n");
  // Best effort: the pid only improves the message a second daemon prints.
  if (ftruncate(fd, 0) == 0) {
    (void)!pwrite(fd, pid.data(), pid.size(), 0);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(
    const std::string& dir) {
  std::string path = absl::StrCat(dir, "/", kFileName);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create the data directory lock ", path, ": ", ErrorText(errno),
        "; check that the directory exists and is writable"));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::string holder = ReadHolderPid(fd);
    close(fd);
    if (error != EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat("cannot lock ", path, ": ", ErrorText(error)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "the data directory ", dir, " is in use by another corosched-server",
        holder.empty() ? "" : absl::StrCat(" (pid ", holder, ")"),
        ", which holds ", path,
        "; stop that daemon first, or give this one a different "
        "--data-dir"));
  }
  WriteOwnPid(fd);
  return std::unique_ptr<DataDirLock>(new DataDirLock(std::move(path), fd));
}

DataDirLock::~DataDirLock() {
  // Closing the descriptor releases the flock. The file stays: removing it
  // would race with a daemon that opened it and is about to lock it.
  close(fd_);
}

}  // namespace corosched::server
