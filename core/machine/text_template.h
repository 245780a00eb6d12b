#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/machine/value.h"

namespace corosched::machine {

// Text with `${name}` placeholders, as in `emit`, `complete.result` and
// `fail.error`. `${name}` is replaced by variable `name` (see AppendValue);
// `$$` is a literal `$`; any other `$` is literal too.
//
// Parse once (the validator and Program do), render many times. A plain
// value; const methods are safe to call from several threads.
class TextTemplate {
 public:
  TextTemplate() = default;

  // INVALID_ARGUMENT for an unterminated `${`, an empty `${}`, or a name that
  // breaks IsValidName; the message says which and where.
  static absl::StatusOr<TextTemplate> Parse(absl::string_view text);

  // True when there are no placeholders: literal() is the whole text.
  bool is_literal() const { return variables_.empty(); }
  // The text with `$$` unescaped. REQUIRES: is_literal().
  const std::string& literal() const { return literal_; }
  // Placeholder names in order of appearance (with repeats).
  const std::vector<std::string>& variables() const { return variables_; }

  // Appends the text with every placeholder replaced. On a placeholder whose
  // variable is not set, returns FAILED_PRECONDITION naming it; `out` may then
  // hold part of the text.
  absl::Status Render(const Variables& variables, std::string* out) const;

 private:
  // Literal pieces interleaved with placeholders: literals_[i] comes before
  // variables_[i]; literals_ has one more element than variables_.
  std::vector<std::string> literals_;
  std::vector<std::string> variables_;
  std::string literal_;
};

}  // namespace corosched::machine
