#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace corosched::cli {

// Where `program` would be run from, as execvp(3) looks for it: itself when
// it holds a '/' (and is an executable file), else the first executable
// `program` in the directories of `path` (a $PATH-style list; an empty entry
// is the current directory). NOT_FOUND saying so otherwise.
absl::StatusOr<std::string> FindProgram(const std::string& program,
                                        const std::string& path);

}  // namespace corosched::cli
