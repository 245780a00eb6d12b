#include "client/cli/stderr_relay.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace corosched::cli {
namespace {

// Writes all of `bytes` to `fd`, giving up quietly on an error: stderr that
// cannot be written must not stop the child's work.
void WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

}  // namespace

StderrRelay::StderrRelay(int fd, std::string prefix, size_t line_limit)
    : fd_(fd), prefix_(std::move(prefix)), line_limit_(line_limit) {}

void StderrRelay::Append(absl::string_view bytes) {
  while (!bytes.empty()) {
    const size_t end = bytes.find('\n');
    const absl::string_view piece = bytes.substr(0, end);
    if (line_.size() < line_limit_) {
      absl::StrAppend(&line_, piece.substr(0, line_limit_ - line_.size()));
    }
    absl::string_view rest = piece;
    while (!rest.empty()) {
      const size_t take = std::min(rest.size(), line_limit_ - pending_.size());
      absl::StrAppend(&pending_, rest.substr(0, take));
      rest.remove_prefix(take);
      if (pending_.size() == line_limit_) Pass(/*end_of_line=*/false);
    }
    if (end == absl::string_view::npos) return;
    EndLine();
    bytes.remove_prefix(end + 1);
  }
}

void StderrRelay::Finish() {
  if (!line_.empty() || !pending_.empty()) EndLine();
}

void StderrRelay::EndLine() {
  Pass(/*end_of_line=*/true);
  line_passed_ = false;
  absl::string_view line = absl::StripTrailingAsciiWhitespace(line_);
  if (!absl::StripLeadingAsciiWhitespace(line).empty()) {
    last_line_ = std::string(line);
  }
  line_.clear();
}

void StderrRelay::Pass(bool end_of_line) {
  if (fd_ >= 0) {
    WriteAll(fd_, absl::StrCat(line_passed_ ? "" : prefix_, pending_,
                               end_of_line ? "\n" : ""));
  }
  line_passed_ = true;
  pending_.clear();
}

}  // namespace corosched::cli
