#pragma once

// An exclusive lock on a data directory, so that two daemons never open the
// same store. It is an flock(2) on `<dir>/LOCK`, held from Acquire until the
// DataDirLock is destroyed; the kernel drops it when the process dies, so a
// daemon killed with SIGKILL never leaves a stale lock behind. The holder
// writes its pid into the file, which lets the refusal name it.
//
//   absl::StatusOr<std::unique_ptr<DataDirLock>> lock =
//       DataDirLock::Acquire("/var/lib/corosched");
//   if (!lock.ok()) { log lock.status(); exit non-zero; }
//
// flock locks belong to an open file description, so a second Acquire of the
// same directory fails in the same process too (which the tests rely on).
//
// Thread-safety: Acquire may be called from any thread; a DataDirLock is
// immutable.

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace corosched::server {

class DataDirLock {
 public:
  // The lock file's name inside the data directory.
  static constexpr const char* kFileName = "LOCK";

  // Locks `dir` (which must exist). FAILED_PRECONDITION naming the directory
  // and, when it can be read, the pid of the holder if another process (or
  // another store in this one) holds it; UNAVAILABLE if the lock file cannot
  // be created.
  static absl::StatusOr<std::unique_ptr<DataDirLock>> Acquire(
      const std::string& dir);

  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  DataDirLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  const int fd_;
};

}  // namespace corosched::server
