#include "server/auth/denial_log.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/daemon/logging.h"

namespace corosched::server {

std::string CodeLabel(absl::StatusCode code) {
  return absl::AsciiStrToLower(absl::StatusCodeToString(code));
}

DenialLog::DenialLog(const Clock& clock, Sink sink,
                     uint32_t max_lines_per_second)
    : clock_(clock),
      sink_(std::move(sink)),
      max_lines_per_second_(max_lines_per_second) {}

void DenialLog::Record(const Denial& denial) {
  uint64_t suppressed = 0;
  {
    const absl::Time now = clock_.Now();
    absl::MutexLock lock(&mu_);
    if (now - window_start_ >= absl::Seconds(1)) {
      window_start_ = now;
      lines_in_window_ = 0;
    }
    if (lines_in_window_ >= max_lines_per_second_) {
      ++suppressed_;
      return;
    }
    ++lines_in_window_;
    suppressed = std::exchange(suppressed_, 0);
  }
  std::string line =
      absl::StrCat("event=auth_denied code=", CodeLabel(denial.status.code()),
                   " role=", RoleName(denial.role),
                   " namespace=", LogValue(denial.namespace_name),
                   " principal=", LogValue(denial.principal),
                   " peer=", LogValue(denial.peer),
                   " reason=", LogValue(denial.status.message()));
  if (suppressed > 0) absl::StrAppend(&line, " suppressed=", suppressed);
  sink_(line);
}

}  // namespace corosched::server
