#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/machine/value.h"
#include "core/machine/variable_path.h"

namespace corosched::machine {

// Text with `${path}` placeholders, as in `emit`, `complete.result` and
// `fail.error`. `${path}` is replaced by the value the path names (see
// VariablePath and AppendValue: `${n}`, `${order.items[0].sku}`; a list or
// an object shows as JSON); `$$` is a literal `$`; any other `$` is literal
// too.
//
// Parse once (the validator and Program do), render many times. A plain
// value; const methods are safe to call from several threads.
class TextTemplate {
 public:
  TextTemplate() = default;

  // INVALID_ARGUMENT for an unterminated `${`, an empty `${}`, or text that
  // is not a path (VariablePath::Parse); the message says which and where.
  static absl::StatusOr<TextTemplate> Parse(absl::string_view text);

  // True when there are no placeholders: literal() is the whole text.
  bool is_literal() const { return paths_.empty(); }
  // The text with `$$` unescaped. REQUIRES: is_literal().
  const std::string& literal() const { return literal_; }
  // Placeholder paths in order of appearance (with repeats).
  const std::vector<VariablePath>& paths() const { return paths_; }

  // Appends the text with every placeholder replaced. On a placeholder whose
  // path is not set, returns FAILED_PRECONDITION naming it; `out` may then
  // hold part of the text.
  absl::Status Render(const Variables& variables, std::string* out) const;

 private:
  // Literal pieces interleaved with placeholders: literals_[i] comes before
  // paths_[i]; literals_ has one more element than paths_.
  std::vector<std::string> literals_;
  std::vector<VariablePath> paths_;
  std::string literal_;
};

}  // namespace corosched::machine
