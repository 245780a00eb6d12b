#pragma once

// The users of /metrics' HTTP basic auth, from a file of lines
//
//   prometheus:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
//
// (the user, ':', the hex sha256 of the password: printf %s PASSWORD |
// sha256sum). Blank lines and lines starting with '#' are skipped. Only
// hashes are stored; a password is checked by hashing it and comparing in
// constant time.
//
//   auto users = BasicAuthUsers::Load(file, absl::Seconds(10));
//   if (!users.ok()) { refuse to start with users.status(); }
//   exposer.RegisterAuth([users = *users](const std::string& user,
//                                         const std::string& password) {
//     return users->Check(user, password);
//   }, "corosched");
//
// Reload: at most once per `reload_interval`, Check reads the file again;
// a changed file that parses replaces the users, one that does not (or
// cannot be read) keeps the previous users and is reported to `on_error`.
//
// Thread-safety: Check from any thread (civetweb's), concurrently.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace corosched::server {

struct BasicAuthUser {
  std::string name;
  std::array<uint8_t, 32> password_sha256{};
};

// The users of `text`; INVALID_ARGUMENT naming the line (1-based) that is
// not `user:64-hex-digits`, or when no user is listed.
absl::StatusOr<std::vector<BasicAuthUser>> ParseBasicAuthFile(
    absl::string_view text);

class BasicAuthUsers {
 public:
  struct Options {
    absl::Duration reload_interval = absl::Seconds(10);
    // Called (from Check's thread) when a changed file is refused.
    std::function<void(const absl::Status&)> on_error;
    // The clock reload intervals are measured on.
    std::function<absl::Time()> now = absl::Now;
  };

  // FAILED_PRECONDITION naming `file` (and the line) when it cannot be read
  // or does not parse.
  static absl::StatusOr<std::shared_ptr<BasicAuthUsers>> Load(
      const std::string& file, Options options);

  // Whether `password` is `user`'s.
  bool Check(absl::string_view user, absl::string_view password);

 private:
  BasicAuthUsers(std::string file, Options options, std::string text,
                 std::vector<BasicAuthUser> users, absl::Time loaded_at)
      : file_(std::move(file)),
        options_(std::move(options)),
        text_(std::move(text)),
        users_(std::move(users)),
        checked_at_(loaded_at) {}

  void ReloadIfDue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string file_;
  const Options options_;
  absl::Mutex mu_;
  std::string text_ ABSL_GUARDED_BY(mu_);          // what users_ came from
  std::string refused_text_ ABSL_GUARDED_BY(mu_);  // a bad file, reported
  std::vector<BasicAuthUser> users_ ABSL_GUARDED_BY(mu_);
  absl::Time checked_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
