#pragma once

// Who may read the data directory's files. The database holds every task's
// inputs, labels, variables and output, so its files are the daemon user's
// alone: corosched.db and the -wal, -shm and -journal files SQLite keeps
// beside it are mode 0600 (SQLite gives those companions the database
// file's mode, so creating the database 0600 is enough for new ones).
//
//   absl::StatusOr<std::vector<std::string>> tightened =
//       RestrictDatabaseFiles(dir + "/corosched.db");
//   for (const std::string& line : *tightened) log a warning;
//
// Thread-safety: plain functions on the file system; call them before the
// database is opened.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace corosched::server {

// Creates the database file at `path` empty with mode 0600 if it is
// missing. An existing database file or companion that its group or others
// may read or write is made 0600. Returns one line per file it tightened,
// for the daemon's log; UNAVAILABLE when a file cannot be created,
// inspected or changed.
absl::StatusOr<std::vector<std::string>> RestrictDatabaseFiles(
    const std::string& path);

// A line for the daemon's log when the directory `dir` is open to its group
// or others (mode 0755, say), "" when it is not or cannot be read. Such a
// directory is left as it is: see data_dir_files.cc.
std::string DataDirAccessWarning(const std::string& dir);

}  // namespace corosched::server
