#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/machine/value.h"

namespace corosched::machine {

// A reference to a value held by a task: a variable, or a place inside one.
// Written as dotted names and list indexes: `n`, `signal.by`,
// `order.items[0].sku`. Templates (`${...}`), choice variables and
// operands, `copyOf` and `isSet` all read through one.
//
// Resolution: the longest dot-separated prefix of the path that names a set
// variable is the variable (so a variable called `signal.by` is found whole,
// as are the flat names older tasks hold); the rest of the path walks into
// its value, object fields by name and list items by index. A field of
// something that is not an object, an index of something that is not a list,
// a missing field or an index past the end: the path is not set.
//
// Parse once (the validator and Program do), resolve many times. A plain
// value; const methods are safe to call from several threads.
class VariablePath {
 public:
  VariablePath() = default;

  // INVALID_ARGUMENT unless `text` is a path: one or more names of letters,
  // digits, '_' and '-', joined by '.', each name optionally followed by
  // `[N]` indexes (N a decimal number below 10^9, no leading zeros). The
  // message says what is wrong and where.
  static absl::StatusOr<VariablePath> Parse(absl::string_view text);

  const std::string& text() const { return text_; }

  // The value the path names in `variables`, or nullptr when it is not set.
  // Points into `variables` when the path is a whole variable; otherwise the
  // value is put in `*scratch` and the result points there.
  const Value* Resolve(const Variables& variables, Value* scratch) const;

 private:
  struct Step {
    std::string field;   // a field name, or
    int64_t index = -1;  // a list index when >= 0
  };

  std::string text_;
  std::vector<Step> steps_;
  // For each step that may end the variable's name: where that name ends in
  // text_ and how many steps it spans; longest first.
  std::vector<std::pair<size_t, size_t>> name_ends_;
};

}  // namespace corosched::machine
