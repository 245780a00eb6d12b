#pragma once

// The credentials the daemon reads from files (--auth-tokens, --jwt-key),
// re-read when the files change, without a restart.
//
//   absl::StatusOr<std::unique_ptr<CredentialFiles>> files =
//       CredentialFiles::Load({.tokens_file = "/etc/corosched/tokens.json"});
//   (*files)->StartWatching(absl::Seconds(10));
//   std::shared_ptr<const CredentialTable> table = (*files)->tokens();
//
// A change is a different inode, size or modification time (so both an
// in-place write and an atomic rename are seen; two rewrites of one size
// within the file system's timestamp tick, a few ms, may be seen only at
// the next change). A changed file that
// cannot be read or parsed keeps the previous credentials, logs
// `event=credentials_reload_failed file=... error=...` and tells the
// observer; a good one replaces them (a token removed from the file is
// refused from then on) and logs `event=credentials_reloaded`. A file that
// stays bad is reported once, not at every check.
//
// Thread-safety: tokens() and jwt() from any thread; CheckForChanges from
// one thread at a time (the watcher's, or a test's). The watcher thread is
// owned and joined by this object.

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/auth_observer.h"
#include "server/auth/credential_table.h"
#include "server/auth/jwt_verifier.h"

namespace corosched::server {

class CredentialFiles {
 public:
  struct Options {
    // Either or both; empty: not used.
    std::string tokens_file;
    std::string jwt_key_file;
    JwtVerifier::Rules jwt_rules;
    AuthObserver* observer = nullptr;  // may be null
  };

  // Reads the files once. INVALID_ARGUMENT or NOT_FOUND naming the flag
  // and the file when one cannot be read or is invalid: the daemon does
  // not start on it.
  static absl::StatusOr<std::unique_ptr<CredentialFiles>> Load(Options options);
  ~CredentialFiles();
  CredentialFiles(const CredentialFiles&) = delete;
  CredentialFiles& operator=(const CredentialFiles&) = delete;

  // The current tokens file (null without --auth-tokens).
  std::shared_ptr<const CredentialTable> tokens() const;
  // The current JWT key (null without --jwt-key).
  std::shared_ptr<const JwtVerifier> jwt() const;

  // Re-reads each file that changed since it was last read.
  void CheckForChanges();

  // Calls CheckForChanges every `interval` on a thread of its own until
  // destruction. At most once.
  void StartWatching(absl::Duration interval);

 private:
  // What identifies a file's contents without reading them.
  struct Fingerprint {
    bool exists = false;
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Fingerprint&) const = default;
  };
  struct WatchedFile {
    std::string flag;  // "--auth-tokens"
    std::string path;
    Fingerprint last;  // last seen, read well or not
  };

  explicit CredentialFiles(Options options);

  static Fingerprint Stat(const std::string& path);
  // Reads `file` into tokens_ or jwt_; the error names the flag and file.
  absl::Status Read(WatchedFile& file);
  void Watch(absl::Duration interval);

  const Options options_;
  WatchedFile tokens_file_;
  WatchedFile jwt_key_file_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const CredentialTable> tokens_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const JwtVerifier> jwt_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace corosched::server
