#pragma once

// The log of refused calls, one line each, at most `max_lines_per_second`:
//
//   event=auth_denied code=permission_denied role=submit namespace=a
//     principal=ci peer=ipv4:10.0.0.7:53122 reason="..." suppressed=3
//
// `suppressed` counts the lines left out since the previous one, so a
// flood of bad calls costs a few lines a second and still shows its size.
// Never a token: the reason is the status message, which never has one.
//
// Thread-safety: Record from any thread.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "server/auth/authorizer.h"

namespace corosched::server {

struct Denial {
  absl::Status status;
  Role role = Role::kAdmin;
  std::string namespace_name;
  // The principal when it is known ("-" before authentication).
  std::string principal;
  std::string peer;
};

// "unauthenticated", "permission_denied", ...: the code as labels and logs
// spell it.
std::string CodeLabel(absl::StatusCode code);

class DenialLog {
 public:
  // Receives each line; the daemon's writes it with spdlog at warn.
  using Sink = std::function<void(const std::string& line)>;

  DenialLog(const Clock& clock, Sink sink, uint32_t max_lines_per_second = 10);

  void Record(const Denial& denial);

 private:
  const Clock& clock_;
  const Sink sink_;
  const uint32_t max_lines_per_second_;
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint32_t lines_in_window_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace corosched::server
