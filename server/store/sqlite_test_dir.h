#pragma once

// A fresh directory for one test's data directory, removed with everything
// in it when the test ends. Under $TEST_TMPDIR when set, else /tmp.

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace corosched::server {

class SqliteTestDir {
 public:
  SqliteTestDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") +
                          "/corosched-store-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~SqliteTestDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  SqliteTestDir(const SqliteTestDir&) = delete;
  SqliteTestDir& operator=(const SqliteTestDir&) = delete;

  // Empty if the directory could not be made.
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace corosched::server
