#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace corosched::cli {

// A child's stderr, cut into lines as it arrives: each line is passed on to
// a file descriptor after a prefix (so the lines of several children running
// at once stay apart), and the last non-empty line is kept, for a failure's
// message.
//
//   StderrRelay relay(STDERR_FILENO, "[task-1] ", 4096);
//   relay.Append(bytes_read);  // as often as bytes come
//   relay.Finish();            // at end of file
//   relay.last_line();
//
// Memory is bounded by `line_limit`: a longer line is passed on in pieces
// (the prefix before the first), and only its first `line_limit` bytes are
// kept. Not thread-safe.
class StderrRelay {
 public:
  // `fd` -1 passes nothing on. REQUIRES: line_limit > 0.
  StderrRelay(int fd, std::string prefix, size_t line_limit);

  void Append(absl::string_view bytes);
  // The stream ended: a last line without its '\n' counts as a line, and is
  // passed on with one.
  void Finish();

  // The last line that held more than white space, without its line end
  // ("\n" or "\r\n") and trailing white space; "" before there was one.
  const std::string& last_line() const { return last_line_; }

 private:
  void EndLine();
  // Writes the pending bytes (after the prefix, for a line's first piece).
  void Pass(bool end_of_line);

  const int fd_;
  const std::string prefix_;
  const size_t line_limit_;
  // The current line's bytes not yet passed on; fewer than line_limit_.
  std::string pending_;
  // Whether the current line's first piece (and the prefix) went out.
  bool line_passed_ = false;
  // The current line's first line_limit_ bytes.
  std::string line_;
  std::string last_line_;
};

}  // namespace corosched::cli
