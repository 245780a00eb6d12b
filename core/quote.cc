#include "core/quote.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace corosched {

std::string QuoteInput(absl::string_view text) {
  if (text.size() <= kMaxQuotedInputBytes) {
    return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  }
  // Escaping after the cut never splits an escape sequence.
  return absl::StrCat("\"",
                      absl::CHexEscape(text.substr(0, kMaxQuotedInputBytes)),
                      "...\" (", text.size(), " bytes)");
}

}  // namespace corosched
