#include "core/machine/payload.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/machine/names.h"
#include "core/quote.h"

namespace corosched::machine {

absl::Status LandPayload(const google::protobuf::Struct& payload,
                         absl::string_view prefix, size_t max_name_bytes,
                         PayloadVariables* out) {
  out->clear();
  for (const auto& [field, json] : payload.fields()) {
    std::string name = absl::StrCat(prefix, field);
    if (!IsValidName(field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("payload field ", QuoteInput(name),
                       " cannot be a variable name; ", kNameRule));
    }
    if (name.size() > max_name_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "payload field ", QuoteInput(name), " makes a variable name of ",
          name.size(), " bytes; the limit is ", max_name_bytes));
    }
    absl::StatusOr<Value> value = ValueFromJson(json);
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "payload field ", QuoteInput(name), ": ", value.status().message()));
    }
    out->emplace_back(std::move(name), *std::move(value));
  }
  std::sort(out->begin(), out->end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return absl::OkStatus();
}

}  // namespace corosched::machine
