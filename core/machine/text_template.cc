#include "core/machine/text_template.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/quote.h"

namespace corosched::machine {

absl::StatusOr<TextTemplate> TextTemplate::Parse(absl::string_view text) {
  TextTemplate parsed;
  std::string piece;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      piece.push_back(c);
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      piece.push_back('$');
      i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      piece.push_back(c);
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unterminated \"${\" at offset ", i,
          "; close it with \"}\", or write \"$$\" for a literal \"$\""));
    }
    absl::string_view name = text.substr(i + 2, close - i - 2);
    absl::StatusOr<VariablePath> path = VariablePath::Parse(name);
    if (!path.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "placeholder ", QuoteInput(absl::StrCat("${", name, "}")),
          " at offset ", i,
          " is not a variable name or path: ", path.status().message()));
    }
    parsed.literals_.push_back(std::exchange(piece, {}));
    parsed.paths_.push_back(*std::move(path));
    i = close + 1;
  }
  parsed.literals_.push_back(std::move(piece));
  if (parsed.paths_.empty()) parsed.literal_ = parsed.literals_.front();
  return parsed;
}

absl::Status TextTemplate::Render(const Variables& variables,
                                  std::string* out) const {
  if (literals_.empty()) return absl::OkStatus();  // default-constructed
  out->append(literals_[0]);
  Value scratch;
  for (size_t i = 0; i < paths_.size(); ++i) {
    const Value* value = paths_[i].Resolve(variables, &scratch);
    if (value == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("variable ", QuoteInput(paths_[i].text()),
                       " is not set; set it in an earlier state, pass it as "
                       "an input, or test it with isSet first"));
    }
    AppendValue(*value, out);
    out->append(literals_[i + 1]);
  }
  return absl::OkStatus();
}

}  // namespace corosched::machine
